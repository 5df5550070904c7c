//! WHERE records go: JSON Lines, CSV or a JSON array, on stdout or in a file.
//!
//! A sink is opened before the crawl starts (so a bad path fails before any
//! request), takes records with [`Sink::write`], and is closed with
//! [`Sink::finish`], which flushes and, for `.json`, closes the array. If a
//! sink is dropped without `finish` (a panic, an early return), `Drop` still
//! closes the array and flushes what it can.

mod writers;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::crawl::Record;
use writers::{CsvWriter, JsonArrayWriter, JsonLinesWriter};

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
}

impl Target {
    /// Reads an `-o` value; the error names what was expected.
    pub fn parse(text: &str) -> Result<Target, String> {
        if text == "-" {
            return Ok(Target::Stdout);
        }
        if text.starts_with("sqlite:")
            || text.starts_with("postgres://")
            || text.starts_with("postgresql://")
        {
            return Err(format!(
                "`{text}`: database outputs are not available in this version of trawl"
            ));
        }
        let path = PathBuf::from(text);
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl") | Some("ndjson") => Ok(Target::JsonLines(path)),
            Some("csv") => Ok(Target::Csv(path)),
            Some("json") => Ok(Target::Json(path)),
            _ => Err(format!(
                "`{text}`: expected a file ending in .jsonl, .csv or .json, or `-` for stdout"
            )),
        }
    }

    fn path(&self) -> Option<&Path> {
        match self {
            Target::Stdout => None,
            Target::JsonLines(p) | Target::Csv(p) | Target::Json(p) => Some(p),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path() {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("stdout"),
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

/// An open output.
pub struct Sink {
    target: Target,
    writer: Writer,
}

enum Writer {
    Lines(JsonLinesWriter),
    Csv(Box<CsvWriter>),
    Array(JsonArrayWriter),
}

impl Sink {
    /// Opens `target`; `columns` are the spider's field names, in order (CSV header).
    pub fn open(target: Target, columns: Vec<String>) -> Result<Sink, SinkError> {
        let create = |path: &Path| {
            std::fs::File::create(path)
                .map_err(|e| SinkError::new(&target, format!("cannot create the file ({e})")))
        };
        let writer = match &target {
            Target::Stdout => Writer::Lines(JsonLinesWriter::stdout()),
            Target::JsonLines(path) => Writer::Lines(JsonLinesWriter::file(create(path)?)),
            Target::Csv(path) => Writer::Csv(Box::new(CsvWriter::new(create(path)?, columns))),
            Target::Json(path) => Writer::Array(JsonArrayWriter::new(create(path)?)),
        };
        Ok(Sink { target, writer })
    }

    /// Writes one record.
    pub async fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        let result = match &mut self.writer {
            Writer::Lines(w) => w.write(record),
            Writer::Csv(w) => w.write(record),
            Writer::Array(w) => w.write(record),
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// Flushes, closes the array if there is one, and syncs files to disk.
    pub async fn finish(self) -> Result<(), SinkError> {
        let result = match self.writer {
            Writer::Lines(w) => w.finish(),
            Writer::Csv(w) => w.finish(),
            Writer::Array(w) => w.finish(),
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// Where this sink writes.
    pub fn target(&self) -> &Target {
        &self.target
    }
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
        assert!(Target::parse("x.xml")
            .unwrap_err()
            .contains(".jsonl, .csv or .json"));
    }
}
