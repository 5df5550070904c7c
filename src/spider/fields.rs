//! Fields as a spider file writes them (SPEC §6): a string, a list of
//! fallbacks, or a table (`const`, `each` + `fields`, `rows` + `key` + `value`).

use serde_json::Value;

use super::raw::{nearest, Names, FIELD_KEYS};
use super::{Builder, SpiderError};
use crate::extract::{Field, Read, ReadError, Scope};

/// A field's name and its compiled rule, in declaration order.
pub(super) type FieldList = Vec<(String, Field)>;

impl Builder<'_> {
    /// Compiles every field of `section` (`list.fields`, `detail.fields` …).
    pub(super) fn fields<'r>(
        &self,
        section: &str,
        raw: impl IntoIterator<Item = (&'r String, &'r toml::Value)>,
        json: bool,
    ) -> Result<FieldList, SpiderError> {
        raw.into_iter()
            .map(|(name, value)| {
                let key = format!("{section}.{name}");
                if name.trim().is_empty() {
                    return Err(self.err(&key, "a non-empty field name"));
                }
                if name == "_key" {
                    return Err(self.err(
                        &key,
                        "another name: `_key` is the database outputs' key column (see `key = …` to choose a record's identity)",
                    ));
                }
                Ok((name.clone(), self.field(&key, value, json)?))
            })
            .collect()
    }

    fn field(&self, key: &str, value: &toml::Value, json: bool) -> Result<Field, SpiderError> {
        match value {
            toml::Value::String(text) => Ok(Field::Read(self.read(key, text, json)?)),
            toml::Value::Array(items) => self.fallback(key, items, json),
            toml::Value::Table(table) => self.field_table(key, table, json),
            other => Err(self.err(
                key,
                format!(
                    "a selector or path (a string), a list of them (fallbacks), or a table \
                     with `const`, `each` or `rows`; found {} (for a constant write \
                     `{{ const = {other} }}`)",
                    type_name(other)
                ),
            )),
        }
    }

    /// Compiles one selector or path with its filters.
    pub(super) fn read(&self, key: &str, text: &str, json: bool) -> Result<Read, SpiderError> {
        Read::parse(text, json).map_err(|e| match e {
            ReadError::Expected(what) => self.err(key, what),
            ReadError::Filter(problem) => SpiderError::at(self.origin, key, problem),
        })
    }

    fn fallback(&self, key: &str, items: &[toml::Value], json: bool) -> Result<Field, SpiderError> {
        if items.is_empty() {
            return Err(self.err(key, "at least one selector or path in the fallback list"));
        }
        let reads = items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                toml::Value::String(text) => self.read(&format!("{key}[{i}]"), text, json),
                other => Err(self.err(
                    format!("{key}[{i}]"),
                    format!("a selector or path (a string), found {}", type_name(other)),
                )),
            })
            .collect::<Result<_, _>>()?;
        Ok(Field::Fallback(reads))
    }

    fn field_table(
        &self,
        key: &str,
        table: &toml::Table,
        json: bool,
    ) -> Result<Field, SpiderError> {
        if let Some(unknown) = table.keys().find(|k| !FIELD_KEYS.contains(&k.as_str())) {
            let hint = nearest(unknown, FIELD_KEYS)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return Err(SpiderError::at(
                self.origin,
                format!("{key}.{unknown}"),
                format!("unknown key{hint}"),
            ));
        }
        let has = |k: &str| table.contains_key(k);
        if has("const") {
            if let Some(extra) = table.keys().find(|k| *k != "const") {
                return Err(self.err(
                    format!("{key}.{extra}"),
                    "nothing beside `const` in a constant field",
                ));
            }
            return Ok(Field::Const(to_json(&table["const"])));
        }
        if has("each") {
            return self.each(key, table, json);
        }
        if has("rows") {
            return self.rows(key, table, json);
        }
        Err(self.err(
            key,
            "a table with `const = …`, `each = …` and `fields = {…}`, or `rows = …`, `key = …` and `value = …`",
        ))
    }

    fn each(&self, key: &str, table: &toml::Table, json: bool) -> Result<Field, SpiderError> {
        let each = self.text(&format!("{key}.each"), &table["each"])?;
        let each = Scope::parse(each, json).map_err(|e| self.err(format!("{key}.each"), e))?;
        let fields = match table.get("fields") {
            Some(toml::Value::Table(fields)) if !fields.is_empty() => {
                self.fields(&format!("{key}.fields"), fields, json)?
            }
            _ => {
                return Err(self.err(
                    format!("{key}.fields"),
                    "a table of the fields read inside each match, e.g. `fields = { title = \"::text\" }`",
                ))
            }
        };
        for extra in ["rows", "key", "value"] {
            if table.contains_key(extra) {
                return Err(self.err(format!("{key}.{extra}"), "`each` and `rows` apart"));
            }
        }
        Ok(Field::Each { each, fields })
    }

    fn rows(&self, key: &str, table: &toml::Table, json: bool) -> Result<Field, SpiderError> {
        let part = |name: &str| {
            let full = format!("{key}.{name}");
            match table.get(name) {
                Some(value) => self.text(&full, value).map(|text| (full, text)),
                None => Err(self.err(
                    &full,
                    format!("`{name}` beside `rows` (the label's and the value's selector)"),
                )),
            }
        };
        let (rows_key, rows) = part("rows")?;
        let rows = Scope::parse(rows, json).map_err(|e| self.err(&rows_key, e))?;
        let (label_key, label) = part("key")?;
        let (value_key, value) = part("value")?;
        if table.contains_key("fields") {
            return Err(self.err(format!("{key}.fields"), "`fields` only with `each`"));
        }
        Ok(Field::Rows {
            rows,
            key: self.read(&label_key, label, json)?,
            value: self.read(&value_key, value, json)?,
        })
    }

    fn text<'v>(&self, key: &str, value: &'v toml::Value) -> Result<&'v str, SpiderError> {
        value.as_str().ok_or_else(|| {
            self.err(
                key,
                format!("a string (in quotes), found {}", type_name(value)),
            )
        })
    }

    /// `require`, `unique`, `key` or `omit`: names that must be among `known`
    /// (unless `known` is `None`: whole JSON items have names only the server knows).
    pub(super) fn names(
        &self,
        key: &str,
        raw: Option<&Names>,
        known: Option<&[&str]>,
    ) -> Result<Vec<String>, SpiderError> {
        let names = raw.map(Names::to_vec).unwrap_or_default();
        if raw.is_some() && names.is_empty() {
            return Err(self.err(key, "at least one field name"));
        }
        let Some(known) = known else {
            return Ok(names);
        };
        for name in &names {
            if !known.contains(&name.as_str()) {
                let listed: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
                return Err(self.err(
                    key,
                    format!(
                        "the name of a field ({}), found `{name}`",
                        listed.join(", ")
                    ),
                ));
            }
        }
        Ok(names)
    }
}

/// A TOML value as JSON (dates become their text).
fn to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(n) => Value::from(*n),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}
