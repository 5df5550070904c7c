//! WHERE records go: JSON Lines, CSV or a JSON array on stdout or in a file,
//! or rows in SQLite or PostgreSQL.
//!
//! A sink is opened before the crawl starts (so a bad path or an unreachable
//! database fails before any request), takes records with [`Sink::write`],
//! makes what it has taken durable with [`Sink::checkpoint`] (the step a
//! resumable crawl commits after), and is closed with [`Sink::finish`]. If a
//! sink is dropped without `finish`, `Drop` still closes a JSON array and
//! flushes what it can; database transactions not checkpointed roll back.
//!
//! Database rows carry a `_key` (list page position and item position) as
//! their primary key, so a replay after a resume inserts nothing twice.

mod files;
mod postgres;
mod sqlite;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::crawl::Record;
use files::{CsvWriter, JsonArrayWriter, JsonLinesWriter};

/// Where `-o` says records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// JSON Lines on stdout (the default).
    Stdout,
    /// JSON Lines in a file (`.jsonl`).
    JsonLines(PathBuf),
    /// CSV with a header of field names (`.csv`).
    Csv(PathBuf),
    /// One JSON array (`.json`).
    Json(PathBuf),
    /// A table in an SQLite database file (`sqlite:PATH`).
    Sqlite(PathBuf),
    /// A table in PostgreSQL (`postgres://…`).
    Postgres(String),
}

impl Target {
    /// Reads an `-o` value; the error names what was expected.
    pub fn parse(text: &str) -> Result<Target, String> {
        if text == "-" {
            return Ok(Target::Stdout);
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(format!(
                    "`{text}`: expected a database file after `sqlite:`"
                ));
            }
            return Ok(Target::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Target::Postgres(text.to_string()));
        }
        let path = PathBuf::from(text);
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("jsonl") | Some("ndjson") => Ok(Target::JsonLines(path)),
            Some("csv") => Ok(Target::Csv(path)),
            Some("json") => Ok(Target::Json(path)),
            _ => Err(format!(
                "`{text}`: expected a file ending in .jsonl, .csv or .json, sqlite:PATH, postgres://…, or - for stdout"
            )),
        }
    }

    /// Whether the output can be cut back to a committed position on resume.
    pub fn is_resumable(&self) -> bool {
        !matches!(self, Target::Stdout)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Stdout => f.write_str("stdout"),
            Target::JsonLines(p) | Target::Csv(p) | Target::Json(p) => write!(f, "{}", p.display()),
            Target::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Target::Postgres(url) => f.write_str(&postgres::redact(url)),
        }
    }
}

/// An output that failed, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{target}: {message}")]
pub struct SinkError {
    target: String,
    message: String,
}

impl SinkError {
    fn new(target: &Target, message: impl fmt::Display) -> SinkError {
        SinkError {
            target: target.to_string(),
            message: message.to_string(),
        }
    }
}

/// How to open a sink.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// The spider's field names in record order (CSV header, table columns).
    pub columns: Vec<String>,
    /// The table name for databases (the spider's name; sanitised).
    pub table: String,
    /// Resuming: the committed position to continue from.
    pub resume_at: Option<u64>,
    /// PostgreSQL connections at most (default 4 when 0).
    pub pool_size: usize,
}

/// An open output.
pub struct Sink {
    target: Target,
    writer: Writer,
}

enum Writer {
    Lines(JsonLinesWriter),
    Csv(Box<CsvWriter>),
    Array(JsonArrayWriter),
    Sqlite(Box<sqlite::SqliteSink>),
    Postgres(Box<postgres::PostgresSink>),
}

impl Sink {
    /// Opens `target`, creating what it needs; nothing is fetched before this succeeds.
    pub async fn open(target: Target, options: SinkOptions) -> Result<Sink, SinkError> {
        let fail = |e: &dyn fmt::Display| SinkError::new(&target, e);
        let file = |path: &Path| {
            files::open_at(path, options.resume_at)
                .map_err(|e| fail(&format!("cannot open the file for writing ({e})")))
        };
        let writer = match &target {
            Target::Stdout => Writer::Lines(JsonLinesWriter::stdout()),
            Target::JsonLines(path) => Writer::Lines(JsonLinesWriter::file(file(path)?)),
            Target::Csv(path) => {
                let resumed = options.resume_at.is_some_and(|p| p > 0);
                Writer::Csv(Box::new(CsvWriter::new(
                    file(path)?,
                    options.columns.clone(),
                    resumed,
                )))
            }
            Target::Json(path) => Writer::Array(JsonArrayWriter::new(
                file(path)?,
                options.resume_at.unwrap_or(0),
            )),
            Target::Sqlite(path) => Writer::Sqlite(Box::new(
                sqlite::SqliteSink::open(path, &table_name(&options.table), &options.columns)
                    .map_err(|e| fail(&e))?,
            )),
            Target::Postgres(url) => {
                let pool = if options.pool_size == 0 {
                    4
                } else {
                    options.pool_size
                };
                let sink = postgres::PostgresSink::open(
                    url,
                    &table_name(&options.table),
                    &options.columns,
                    pool,
                )
                .await
                .map_err(|e| fail(&e))?;
                Writer::Postgres(Box::new(sink))
            }
        };
        Ok(Sink { target, writer })
    }

    /// Writes one record (buffered until the next checkpoint).
    pub async fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        let result = match &mut self.writer {
            Writer::Lines(w) => w.write(record).map_err(|e| e.to_string()),
            Writer::Csv(w) => w.write(record).map_err(|e| e.to_string()),
            Writer::Array(w) => w.write(record).map_err(|e| e.to_string()),
            Writer::Sqlite(w) => w.write(record),
            Writer::Postgres(w) => w.write(record).await,
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// Makes every record written so far durable; returns the position a
    /// resume continues from (bytes for files, rows for databases).
    pub async fn checkpoint(&mut self) -> Result<u64, SinkError> {
        let result = match &mut self.writer {
            Writer::Lines(w) => w.checkpoint().map_err(|e| e.to_string()),
            Writer::Csv(w) => w.checkpoint().map_err(|e| e.to_string()),
            Writer::Array(w) => w.checkpoint().map_err(|e| e.to_string()),
            Writer::Sqlite(w) => w.checkpoint(),
            Writer::Postgres(w) => w.checkpoint().await,
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// The position after everything written so far: flushed, not yet synced.
    /// At a page boundary this is where a resume may cut back to.
    pub async fn position(&mut self) -> Result<u64, SinkError> {
        let result = match &mut self.writer {
            Writer::Lines(w) => w.position().map_err(|e| e.to_string()),
            Writer::Csv(w) => w.position().map_err(|e| e.to_string()),
            Writer::Array(w) => w.position().map_err(|e| e.to_string()),
            Writer::Sqlite(_) | Writer::Postgres(_) => Ok(0),
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// Flushes, closes the array if there is one, syncs, and closes connections.
    pub async fn finish(self) -> Result<(), SinkError> {
        let target = self.target;
        let result = match self.writer {
            Writer::Lines(mut w) => w.checkpoint().map(drop).map_err(|e| e.to_string()),
            Writer::Csv(w) => w.finish().map_err(|e| e.to_string()),
            Writer::Array(w) => w.finish().map_err(|e| e.to_string()),
            Writer::Sqlite(w) => w.finish(),
            Writer::Postgres(w) => w.finish().await,
        };
        result.map_err(|e| SinkError::new(&target, e))
    }

    /// Where this sink writes.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

/// A spider name as an SQL identifier: letters, digits and `_`, not starting with a digit.
pub fn table_name(name: &str) -> String {
    let mut table: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if table.is_empty() || table.starts_with(|c: char| c.is_ascii_digit()) {
        table.insert_str(0, "t_");
    }
    table
}

/// A double-quoted SQL identifier (SQLite and PostgreSQL alike).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The primary key of a record's row: list page position and item position.
pub(crate) fn row_key(record: &Record) -> String {
    let (page, index) = record.key();
    format!("{page}:{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(Target::parse("-"), Ok(Target::Stdout));
        assert_eq!(
            Target::parse("out.jsonl"),
            Ok(Target::JsonLines("out.jsonl".into()))
        );
        assert_eq!(Target::parse("a/b.CSV"), Ok(Target::Csv("a/b.CSV".into())));
        assert_eq!(Target::parse("x.json"), Ok(Target::Json("x.json".into())));
        assert_eq!(
            Target::parse("sqlite:x.db"),
            Ok(Target::Sqlite("x.db".into()))
        );
        assert!(matches!(
            Target::parse("postgres://u@h/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(Target::parse("x.xml")
            .unwrap_err()
            .contains(".jsonl, .csv or .json"));
        assert!(Target::parse("sqlite:").is_err());
    }

    #[test]
    fn table_names_are_safe_identifiers() {
        assert_eq!(table_name("blog"), "blog");
        assert_eq!(table_name("My Blog-2"), "my_blog_2");
        assert_eq!(table_name("2024 posts"), "t_2024_posts");
        assert_eq!(table_name("x\"; drop table y"), "x___drop_table_y");
    }
}
