//! `-o sqlite:PATH`: one table named after the spider, rows upserted in
//! transactions that stay open between checkpoints.
//!
//! Declared columns are created typed (`INTEGER`, `REAL`, `TEXT`, see
//! [`Column`](super::Column)); columns whole-item JSON records bring at run
//! time have no type, so each value keeps its own. Values are converted by the
//! type the table's column has, so an older table keeps working.
//!
//! Every write is an upsert on `_key` (`ON CONFLICT ("_key") DO UPDATE`).
//! SQLite cannot say whether an upsert inserted or updated, so each write
//! first looks its `_key` up: an indexed lookup in pages the upsert reads
//! anyway, about 1.5 µs a row (measured: 100,000 rows of seven columns take
//! ~0.9 s of CPU with the lookup, ~0.75 s without).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::cell::{fit, Cell, Misfits, Storage};
use super::mark::Tamper;
use super::names::MORE;
use super::{quote, row_key, update_set, Column};
use crate::crawl::Record;
use crate::extract::Kind;

/// The most columns a table gets for fields (besides `_key` and `_more`).
/// SQLite allows 2,000 columns (`SQLITE_MAX_COLUMN` of the bundled build;
/// a test checks it), and a `SELECT *` over a join is bound by the same
/// limit: half leaves room to join the table with another.
pub(super) const MAX_FIELD_COLUMNS: usize = 1000;

/// An SQLite table that takes records; a transaction stays open between checkpoints.
pub(super) struct SqliteSink {
    conn: Connection,
    table: String,
    /// The columns rows are written with, in order.
    columns: Vec<String>,
    /// Every column the table has, with its declared type (`""` for none).
    known: HashMap<String, String>,
    /// The upsert and the existence check, made again only when a column appears.
    upsert: String,
    exists: String,
    misfits: Misfits,
    in_transaction: bool,
    /// `PRAGMA data_version` when the rows were last counted: it moves only
    /// when another connection commits a change.
    data_version: Option<i64>,
    /// Rows inserted and updated: committed, and since the last commit.
    committed: (u64, u64),
    pending: (u64, u64),
}

impl SqliteSink {
    /// Opens (or creates) the database and the table with `_key` and one column per field.
    pub(super) fn open(path: &Path, table: &str, columns: &[Column]) -> Result<SqliteSink, String> {
        let conn = Connection::open(path).map_err(|e| format!("cannot open the database ({e})"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        let mut sink = SqliteSink {
            conn,
            table: table.to_string(),
            columns: Vec::new(),
            known: HashMap::new(),
            upsert: upsert_sql(table, &[]),
            exists: format!("SELECT 1 FROM {} WHERE \"_key\" = ?1", quote(table)),
            misfits: Misfits::new(table),
            in_transaction: false,
            data_version: None,
            committed: (0, 0),
            pending: (0, 0),
        };
        let mut defs = vec!["\"_key\" TEXT PRIMARY KEY".to_string()];
        defs.extend(
            columns
                .iter()
                .map(|c| format!("{} {}", quote(&c.name), sql_type(c.kind))),
        );
        sink.conn
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} ({})",
                quote(table),
                defs.join(", ")
            ))
            .map_err(|e| format!("cannot create table `{table}` ({e})"))?;
        sink.load_columns()?;
        for column in columns {
            sink.add_column(&column.name, sql_type(column.kind))?;
        }
        Ok(sink)
    }

    /// The columns the table has.
    pub(super) fn column_names(&self) -> impl Iterator<Item = &String> {
        self.known.keys()
    }

    fn load_columns(&mut self) -> Result<(), String> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, type FROM pragma_table_info(?1)")
            .map_err(|e| e.to_string())?;
        self.known = stmt
            .query_map([&self.table], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Writes rows with column `name`, adding it to the table (of `sql_type`)
    /// if the table lacks it.
    fn add_column(&mut self, name: &str, sql_type: &str) -> Result<(), String> {
        if !self.known.contains_key(name) {
            let sql = format!(
                "ALTER TABLE {} ADD COLUMN {} {sql_type}",
                quote(&self.table),
                quote(name)
            );
            self.conn
                .execute_batch(&sql)
                .map_err(|e| format!("cannot add column `{name}` ({e})"))?;
            self.known.insert(name.to_string(), sql_type.to_string());
        }
        if !self.columns.iter().any(|c| c == name) {
            self.columns.push(name.to_string());
            self.upsert = upsert_sql(&self.table, &self.columns);
        }
        Ok(())
    }

    /// Upserts one row: a row with the same `_key` takes the record's values.
    pub(super) fn write(&mut self, record: &Record) -> Result<(), String> {
        let fresh: Vec<String> = record
            .fields()
            .keys()
            .filter(|k| !self.columns.contains(k))
            .cloned()
            .collect();
        // Columns are added in the transaction too: one sync for all of them.
        if !self.in_transaction {
            self.conn
                .execute_batch("BEGIN")
                .map_err(|e| e.to_string())?;
            self.in_transaction = true;
        }
        for name in fresh {
            // Undeclared: no type, so each value keeps its own (as before
            // types); `_more` holds JSON text.
            let ty = if name == MORE {
                sql_type(Kind::Json)
            } else {
                ""
            };
            self.add_column(&name, ty)?;
        }
        let key = row_key(record);
        let existed = self.exists(&key)?;
        let values: Vec<Sql> = std::iter::once(Sql::Text(key))
            .chain(
                self.columns
                    .iter()
                    .map(|c| converted(&self.known, &mut self.misfits, c, record)),
            )
            .collect();
        let mut stmt = self
            .conn
            .prepare_cached(&self.upsert)
            .map_err(|e| e.to_string())?;
        stmt.execute(params_from_iter(values))
            .map_err(|e| e.to_string())?;
        match existed {
            false => self.pending.0 += 1,
            true => self.pending.1 += 1,
        }
        Ok(())
    }

    /// Whether a row with `key` is there already (to count inserts and updates).
    fn exists(&self, key: &str) -> Result<bool, String> {
        let mut stmt = self
            .conn
            .prepare_cached(&self.exists)
            .map_err(|e| e.to_string())?;
        stmt.query_row([key], |_| Ok(()))
            .optional()
            .map(|row| row.is_some())
            .map_err(|e| e.to_string())
    }

    /// Commits the open transaction; returns the rows inserted by this sink so far.
    pub(super) fn checkpoint(&mut self) -> Result<u64, String> {
        if self.in_transaction {
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| format!("cannot commit ({e})"))?;
            self.in_transaction = false;
            self.committed.0 += self.pending.0;
            self.committed.1 += self.pending.1;
            self.pending = (0, 0);
        }
        Ok(self.committed.0)
    }

    /// Rows the table holds, if another connection may have changed them
    /// since they were last counted; `None` when none can have.
    pub(super) fn rows_if_changed(&mut self) -> Result<Option<u64>, String> {
        let version = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if self.data_version == Some(version) {
            return Ok(None);
        }
        self.count_rows().map(Some)
    }

    /// Rows the table holds (committed, and in the open transaction).
    pub(super) fn count_rows(&mut self) -> Result<u64, String> {
        self.data_version = Some(
            self.conn
                .query_row("PRAGMA data_version", [], |r| r.get(0))
                .map_err(|e| e.to_string())?,
        );
        let sql = format!("SELECT count(*) FROM {}", quote(&self.table));
        self.conn
            .query_row(&sql, [], |r| r.get(0))
            .map_err(|e| format!("cannot count the rows of `{}` ({e})", self.table))
    }

    /// Rows inserted and updated by committed transactions.
    pub(super) fn rows_written(&self) -> (u64, u64) {
        self.committed
    }

    /// Commits and closes the database.
    pub(super) fn finish(mut self) -> Result<(), String> {
        self.checkpoint()?;
        self.conn.close().map_err(|(_, e)| e.to_string())
    }
}

/// Checks, without creating anything, that the table at `path` holds at
/// least the `committed` rows.
pub(super) fn check_rows(path: &Path, table: &str, committed: u64) -> Result<(), Tamper> {
    use rusqlite::OpenFlags;
    let missing = || Tamper::TableMissing {
        table: table.to_string(),
        committed,
    };
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return Err(missing());
    };
    let sql = format!("SELECT count(*) FROM {}", quote(table));
    match conn.query_row(&sql, [], |r| r.get::<_, u64>(0)) {
        Ok(found) if found < committed => Err(Tamper::FewerRows {
            table: table.to_string(),
            found,
            committed,
        }),
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(_, Some(message)))
            if message.contains("no such table") =>
        {
            Err(missing())
        }
        // Busy or unreadable: opening it for writing will say what is wrong.
        Err(_) => Ok(()),
    }
}

/// The record's value for `column`, converted for the column's declared type.
fn converted(
    known: &HashMap<String, String>,
    misfits: &mut Misfits,
    column: &str,
    record: &Record,
) -> Sql {
    let declared = known.get(column).map_or("", String::as_str);
    let value = record.get(column);
    match fit(value, storage(declared)) {
        Some(cell) => sql_value(cell),
        None => {
            misfits.note(column, declared, value);
            Sql::Null
        }
    }
}

/// The declared type a column of `kind` is created with. `Text` is what the
/// spider file does not pin down (a JSON path may give numbers), so it gets
/// no type and each value keeps its own, as SQLite allows.
fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "",
        Kind::Json => "TEXT",
        Kind::Int | Kind::Bool => "INTEGER",
        Kind::Number => "REAL",
    }
}

/// What a column of a declared type takes, by SQLite's affinity rules
/// (<https://sqlite.org/datatype3.html#determination_of_column_affinity>).
/// NUMERIC affinity converts by itself and never refuses, so it takes anything.
fn storage(declared: &str) -> Storage {
    let declared = declared.to_ascii_uppercase();
    let has = |parts: &[&str]| parts.iter().any(|p| declared.contains(p));
    if has(&["INT"]) {
        Storage::Int
    } else if has(&["CHAR", "CLOB", "TEXT"]) {
        Storage::Text
    } else if has(&["REAL", "FLOA", "DOUB"]) {
        Storage::Float
    } else {
        Storage::Any
    }
}

fn sql_value(cell: Cell) -> Sql {
    match cell {
        Cell::Null => Sql::Null,
        Cell::Text(s) => Sql::Text(s),
        Cell::Int(i) => Sql::Integer(i),
        Cell::Float(x) => Sql::Real(x),
        Cell::Bool(b) => Sql::Integer(i64::from(b)),
        Cell::Json(v) => Sql::Text(v.to_string()),
    }
}

/// `INSERT INTO t ("_key", …) VALUES (?, …) ON CONFLICT ("_key") DO UPDATE SET a = excluded.a, …`.
fn upsert_sql(table: &str, columns: &[String]) -> String {
    let names: Vec<String> = std::iter::once(quote("_key"))
        .chain(columns.iter().map(|c| quote(c)))
        .collect();
    let marks = vec!["?"; names.len()].join(", ");
    format!(
        "INSERT INTO {} ({}) VALUES ({marks}) ON CONFLICT (\"_key\") DO UPDATE SET {}",
        quote(table),
        names.join(", "),
        update_set(columns, "excluded")
    )
}
