//! Column names for database outputs: one documented mapping from field
//! names — the spider's, or keys a JSON API chose — to columns, so that no
//! key a server sends can end a crawl (SPEC §10 "Databases").
//!
//! A field's column is its name, except:
//! - an empty name is `_empty`, and control characters become `_`;
//! - a name longer than 63 bytes (PostgreSQL's limit) is cut to 54 bytes and
//!   given `_` and 8 hex digits of the whole name's CRC-32;
//! - a name that another field of the run already holds, compared without
//!   case (SQLite and unquoted SQL fold it), or `_key`, gets `_2`, `_3` …,
//!   in the order the names first appear. A column the table already has
//!   under exactly that name is reused. `_more` is taken the same way.
//!
//! A table holds at most a cap of field columns (besides `_key` and
//! `_more`; the cap is the engine's, see `sqlite` and `postgres`). A field
//! whose column the table has keeps it; a new field gets a column while the
//! table is under the cap; past it, the field goes, under its name as the
//! record has it, into one JSON object in the column `_more` (see
//! [`ColumnNames::row`]). Which fields get columns depends only on the order
//! records are written in (discovery order, SPEC §5) and on the columns the
//! table already has, so it is the same on every run and after a resume.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::crawl::Record;
use crate::extract::Fields;

/// The column holding, as one JSON object, the fields of a record that got
/// no column of their own because the table reached its cap.
pub(crate) const MORE: &str = "_more";

/// PostgreSQL cuts identifiers at 63 bytes.
const MAX_NAME: usize = 63;

/// Field names to column names, for one sink.
#[derive(Debug, Default)]
pub(crate) struct ColumnNames {
    map: HashMap<String, String>,
    /// Columns given out in this run, lower-cased (`_key` among them).
    claimed: HashSet<String>,
    /// Columns the table has, exactly, and lower-cased.
    existing: HashSet<String>,
    existing_folded: HashSet<String>,
    /// The field columns the table has or is about to get (not `_key`, `_more`).
    fields: HashSet<String>,
    /// At most this many field columns; past it, fields go into `_more`.
    cap: usize,
}

impl ColumnNames {
    /// Names for a table of at most `cap` field columns.
    pub(super) fn new(cap: usize) -> ColumnNames {
        let mut names = ColumnNames {
            cap,
            ..ColumnNames::default()
        };
        names.claimed.insert("_key".to_string());
        names.claimed.insert(MORE.to_string());
        names
    }

    /// The columns the table has (those of an earlier run, and the declared
    /// fields' just created).
    pub(super) fn existing<'a>(&mut self, columns: impl IntoIterator<Item = &'a String>) {
        for column in columns {
            self.existing_folded.insert(column.to_lowercase());
            self.existing.insert(column.clone());
            if column != "_key" && column != MORE {
                self.fields.insert(column.clone());
            }
        }
    }

    /// The column for field `field`, the same every time it is asked.
    pub(super) fn column(&mut self, field: &str) -> String {
        if let Some(column) = self.map.get(field) {
            return column.clone();
        }
        let base = clean(field);
        let column = (1..)
            .map(|n| match n {
                1 => base.clone(),
                // Cut before the suffix: a database would cut after it,
                // and the column could land on another field's.
                n => {
                    let suffix = format!("_{n}");
                    let mut cut = base.len().min(MAX_NAME - suffix.len());
                    while !base.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    format!("{}{suffix}", &base[..cut])
                }
            })
            .find(|c| self.free(c))
            .expect("some suffix is free");
        self.claimed.insert(column.to_lowercase());
        self.map.insert(field.to_string(), column.clone());
        column
    }

    fn free(&self, column: &str) -> bool {
        let folded = column.to_lowercase();
        if self.claimed.contains(&folded) {
            return false;
        }
        self.existing.contains(column) || !self.existing_folded.contains(&folded)
    }

    /// Where `field` goes: its column, or `None` for `_more`. A new column
    /// is counted here, and the sink creates it when it writes the record.
    fn place(&mut self, field: &str) -> Option<String> {
        let column = self.column(field);
        if self.fields.contains(&column) {
            return Some(column);
        }
        if self.fields.len() < self.cap {
            self.fields.insert(column.clone());
            return Some(column);
        }
        None
    }

    /// `record` as its row: fields under their columns' names, those past the
    /// cap in one object under `_more`; or `None` when every field has a
    /// column of its own name (no copy then).
    pub(super) fn row(&mut self, record: &Record) -> Option<Record> {
        let mut same = true;
        for field in record.fields().keys() {
            same &= self.place(field).is_some_and(|column| column == *field);
        }
        if same {
            return None;
        }
        let mut fields = Fields::new();
        let mut more = Fields::new();
        for (field, value) in record.fields() {
            match self.place(field) {
                Some(column) => fields.insert(column, value.clone()),
                None => more.insert(field.clone(), value.clone()),
            };
        }
        if !more.is_empty() {
            fields.insert(MORE.to_string(), Value::Object(more));
        }
        Some(record.with_fields(fields))
    }
}

/// The name as a column can hold it (before collisions are settled).
fn clean(field: &str) -> String {
    if field.is_empty() {
        return "_empty".to_string();
    }
    let name: String = field
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    if name.len() <= MAX_NAME {
        return name;
    }
    let mut cut = 54;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    // CRC-32: the same in every build, so a table keeps its columns.
    format!("{}_{:08x}", &name[..cut], crc32fast::hash(field.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_server_chose_become_distinct_columns() {
        let mut names = ColumnNames::new(usize::MAX);
        let long = "x".repeat(100);
        let columns: Vec<String> = [
            "Name",
            "name",
            "",
            "_key",
            "NAME",
            "a\nb",
            long.as_str(),
            "ok",
        ]
        .iter()
        .map(|f| names.column(f))
        .collect();
        assert_eq!(
            columns[..6],
            ["Name", "name_2", "_empty", "_key_2", "NAME_3", "a_b"]
        );
        assert!(
            columns[6].len() <= MAX_NAME && columns[6].starts_with("xxxx"),
            "{}",
            columns[6]
        );
        assert_eq!(columns[7], "ok");
        assert_eq!(names.column("name"), "name_2", "the same every time");
    }

    #[test]
    fn a_column_the_table_has_is_reused_and_its_case_variants_avoided() {
        let mut names = ColumnNames::new(usize::MAX);
        names.existing(&["_key".to_string(), "name".to_string()]);
        assert_eq!(names.column("Name"), "Name_2");
        assert_eq!(names.column("name"), "name");
    }

    fn fields(value: Value) -> Record {
        let Value::Object(fields) = value else {
            panic!("an object")
        };
        Record::new(fields, crate::crawl::OrderKey::list_page(0), 0)
    }

    /// The row's fields, as JSON, for comparing.
    fn row(names: &mut ColumnNames, record: Value) -> Value {
        let record = fields(record);
        let row = names.row(&record).unwrap_or(record);
        Value::Object(row.fields().clone())
    }

    #[test]
    fn past_the_cap_new_fields_go_into_more_and_fields_with_columns_keep_them() {
        use serde_json::json;
        let mut names = ColumnNames::new(3);
        names.existing(&["_key".to_string(), "a".to_string()]);
        assert_eq!(
            row(
                &mut names,
                json!({"b": 1, "a": 2, "c": 3, "d": 4, "_more": 5})
            ),
            json!({"b": 1, "a": 2, "c": 3, "_more": {"d": 4, "_more": 5}}),
            "a has its column; b and c reach the cap; d and `_more` itself overflow"
        );
        assert_eq!(
            row(&mut names, json!({"d": 6, "c": 7, "e": 8})),
            json!({"c": 7, "_more": {"d": 6, "e": 8}}),
            "d stays in _more, c keeps its column"
        );
        assert_eq!(
            row(&mut names, json!({"a": 9})),
            json!({"a": 9}),
            "no overflow, no _more"
        );
    }

    #[test]
    fn a_field_named_more_gets_a_column_of_its_own_under_the_cap() {
        use serde_json::json;
        let mut names = ColumnNames::new(usize::MAX);
        names.existing(&["_key".to_string(), MORE.to_string()]);
        assert_eq!(
            row(&mut names, json!({"_more": 1, "x": 2})),
            json!({"_more_2": 1, "x": 2})
        );
    }

    #[test]
    fn a_resumed_run_reads_the_cap_back_from_the_table() {
        use serde_json::json;
        let mut names = ColumnNames::new(2);
        let table: Vec<String> = ["_key", "a", "b", MORE].map(String::from).into();
        names.existing(&table);
        assert_eq!(
            row(&mut names, json!({"c": 1, "b": 2})),
            json!({"b": 2, "_more": {"c": 1}})
        );
    }
}

/// Generated keys (SPEC §10 "Databases"): whatever keys a server sends, each
/// gets one column, the same each time, distinct from every other without
/// case, never `_key`, non-empty and free of control characters.
#[cfg(test)]
mod properties {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::proptest_run::check;

    /// Keys like a JSON API's, and keys no API should send: case variants,
    /// `_key`, suffix look-alikes, control characters, long and multibyte.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z_]{0,4}(_[0-9])?",
            Just("_key".to_string()),
            Just("_KEY".to_string()),
            "\\PC{0,8}",
            "[a-z\\x00-\\x1f\\x7f]{0,6}",
            "[aA]{50,70}(_[0-9])?",
            "[éÉİı]{20,40}",
        ]
    }

    #[test]
    fn any_keys_map_to_distinct_valid_columns() {
        // Each key again in upper case: the collisions SQL's case folding makes.
        let strategy = prop::collection::vec(key(), 0..12).prop_map(|keys| {
            let upper: Vec<String> = keys.iter().map(|k| k.to_uppercase()).collect();
            [keys, upper].concat()
        });
        check("column-names", 500, strategy, |keys| {
            let mut names = ColumnNames::new(usize::MAX);
            let columns: Vec<String> = keys.iter().map(|k| names.column(k)).collect();
            let mut folded = HashSet::new();
            for (key, column) in keys.iter().zip(&columns) {
                prop_assert_eq!(&names.column(key), column, "the same every time");
                prop_assert!(!column.is_empty() && !column.contains(char::is_control));
                prop_assert!(column.len() <= MAX_NAME, "{column} is too long");
                prop_assert!(!column.eq_ignore_ascii_case("_key"), "{key:?}");
                folded.insert(column.to_lowercase());
            }
            let distinct: HashSet<&String> = keys.iter().collect();
            prop_assert_eq!(folded.len(), distinct.len(), "{:?} → {:?}", keys, columns);
            // Another run over the same keys gives the same columns.
            let mut again = ColumnNames::new(usize::MAX);
            let second: Vec<String> = keys.iter().map(|k| again.column(k)).collect();
            prop_assert_eq!(second, columns);
            Ok(())
        });
    }

    /// Found by the property above: a 62- or 63-byte name that collides
    /// got `_2` past 63 bytes, which PostgreSQL cuts, so `C×62` → `C×62_2`
    /// → `C×62_`, the column of a field named `C×62_`.
    #[test]
    fn a_suffixed_long_name_stays_within_63_bytes() {
        let mut names = ColumnNames::new(usize::MAX);
        let lower = format!("{}_0", "a".repeat(60));
        let upper = lower.to_uppercase();
        assert_eq!(names.column(&lower), lower);
        let column = names.column(&upper);
        assert!(
            column.len() <= MAX_NAME,
            "{column} is {} bytes",
            column.len()
        );
    }
}
