//! `-o sqlite:PATH`: one table named after the spider, rows in batched transactions.

use std::collections::HashSet;
use std::path::Path;

use rusqlite::{params_from_iter, Connection};
use serde_json::Value;

use super::{quote, row_key};
use crate::crawl::Record;

/// An SQLite table that takes records; a transaction stays open between checkpoints.
pub struct SqliteSink {
    conn: Connection,
    table: String,
    columns: Vec<String>,
    known: HashSet<String>,
    in_transaction: bool,
    rows: u64,
}

impl SqliteSink {
    /// Opens (or creates) the database and the table with `_key` and one column per field.
    pub fn open(path: &Path, table: &str, columns: &[String]) -> Result<SqliteSink, String> {
        let conn = Connection::open(path).map_err(|e| format!("cannot open the database ({e})"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        let mut sink = SqliteSink {
            conn,
            table: table.to_string(),
            columns: Vec::new(),
            known: HashSet::new(),
            in_transaction: false,
            rows: 0,
        };
        sink.conn
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} (\"_key\" TEXT PRIMARY KEY)",
                quote(table)
            ))
            .map_err(|e| format!("cannot create table `{table}` ({e})"))?;
        sink.load_columns()?;
        sink.add_columns(columns)?;
        Ok(sink)
    }

    fn load_columns(&mut self) -> Result<(), String> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{}')",
                self.table
            ))
            .map_err(|e| e.to_string())?;
        let names = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        self.known = names.into_iter().collect();
        Ok(())
    }

    /// Adds missing columns, so whole-item JSON records can grow the table.
    fn add_columns(&mut self, names: &[String]) -> Result<(), String> {
        for name in names {
            if !self.known.contains(name) {
                let sql = format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    quote(&self.table),
                    quote(name)
                );
                self.conn
                    .execute_batch(&sql)
                    .map_err(|e| format!("cannot add column `{name}` ({e})"))?;
                self.known.insert(name.clone());
            }
            if !self.columns.contains(name) {
                self.columns.push(name.clone());
            }
        }
        Ok(())
    }

    /// Inserts one row; a row with the same key is left as it is.
    pub fn write(&mut self, record: &Record) -> Result<(), String> {
        let fresh: Vec<String> = record
            .fields()
            .keys()
            .filter(|k| !self.columns.contains(k))
            .cloned()
            .collect();
        if !fresh.is_empty() {
            self.add_columns(&fresh)?;
        }
        if !self.in_transaction {
            self.conn
                .execute_batch("BEGIN")
                .map_err(|e| e.to_string())?;
            self.in_transaction = true;
        }
        let names: Vec<String> = std::iter::once("\"_key\"".to_string())
            .chain(self.columns.iter().map(|c| quote(c)))
            .collect();
        let marks = vec!["?"; names.len()].join(", ");
        let sql = format!(
            "INSERT OR IGNORE INTO {} ({}) VALUES ({marks})",
            quote(&self.table),
            names.join(", ")
        );
        let values = std::iter::once(rusqlite::types::Value::Text(row_key(record)))
            .chain(self.columns.iter().map(|c| sql_value(record.get(c))));
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| e.to_string())?;
        self.rows += stmt
            .execute(params_from_iter(values))
            .map_err(|e| e.to_string())? as u64;
        Ok(())
    }

    /// Commits the open transaction; returns the rows inserted by this sink so far.
    pub fn checkpoint(&mut self) -> Result<u64, String> {
        if self.in_transaction {
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| format!("cannot commit ({e})"))?;
            self.in_transaction = false;
        }
        Ok(self.rows)
    }

    /// Commits and closes the database.
    pub fn finish(mut self) -> Result<(), String> {
        self.checkpoint()?;
        self.conn.close().map_err(|(_, e)| e.to_string())
    }
}

/// Strings, numbers and booleans keep their SQLite type; arrays and objects become JSON text.
fn sql_value(value: Option<&Value>) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    match value {
        None | Some(Value::Null) => Sql::Null,
        Some(Value::String(s)) => Sql::Text(s.clone()),
        Some(Value::Bool(b)) => Sql::Integer(*b as i64),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(other) => Sql::Text(other.to_string()),
    }
}
