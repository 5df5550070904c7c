//! The three file formats. Synchronous and buffered; `checkpoint` flushes,
//! syncs and returns the bytes written, the position a resume cuts back to.
//! Each keeps the CRC-32 of everything in its file as it writes (see
//! `digest`), read with `prefix` after a flush.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::Value;

use super::digest::{Prefix, Tracked};
use crate::crawl::Record;

/// Opens `path` for writing: created empty, or — resuming — cut back to `position`.
pub(super) fn open_at(path: &Path, position: Option<u64>) -> io::Result<File> {
    let Some(position) = position else {
        return File::create(path);
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let length = file.metadata()?.len();
    if length < position {
        return Err(io::Error::other(format!(
            "the file holds {length} bytes but the state committed {position}; \
             it was changed outside trawl (delete the state directory to start afresh)"
        )));
    }
    file.set_len(position)?;
    file.seek(SeekFrom::End(0))?;
    Ok(file)
}

/// The header row of the CSV file at `path` (on a resume, when the spider
/// declares no fields and the first record's keys made the header).
pub(super) fn csv_header(path: &Path) -> io::Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)?;
    let mut header = csv::StringRecord::new();
    reader.read_record(&mut header)?;
    Ok(header.iter().map(str::to_string).collect())
}

/// Syncs a flushed file; the bytes written are the committed position.
fn sync(file: &Tracked) -> io::Result<u64> {
    file.file().sync_data()?;
    Ok(file.prefix().len)
}

/// One JSON object per line, on stdout or in a file.
pub(super) struct JsonLinesWriter {
    out: Output,
}

enum Output {
    /// Flushed per record, so records leave as soon as they exist.
    Stdout(io::Stdout),
    File(BufWriter<Tracked>),
}

impl JsonLinesWriter {
    pub(super) fn stdout() -> JsonLinesWriter {
        JsonLinesWriter {
            out: Output::Stdout(io::stdout()),
        }
    }

    pub(super) fn file(file: Tracked) -> JsonLinesWriter {
        JsonLinesWriter {
            out: Output::File(BufWriter::with_capacity(64 * 1024, file)),
        }
    }

    pub(super) fn open_file(&self) -> Option<&File> {
        match &self.out {
            Output::Stdout(_) => None,
            Output::File(out) => Some(out.get_ref().file()),
        }
    }

    /// What the file holds, once flushed.
    pub(super) fn prefix(&self) -> Option<Prefix> {
        match &self.out {
            Output::Stdout(_) => None,
            Output::File(out) => Some(out.get_ref().prefix()),
        }
    }

    pub(super) fn write(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        match &mut self.out {
            Output::Stdout(out) => {
                let mut out = out.lock();
                out.write_all(&line)?;
                out.flush()
            }
            Output::File(out) => out.write_all(&line),
        }
    }

    pub(super) fn position(&mut self) -> io::Result<u64> {
        match &mut self.out {
            Output::Stdout(_) => Ok(0),
            Output::File(out) => {
                out.flush()?;
                Ok(out.get_ref().prefix().len)
            }
        }
    }

    pub(super) fn checkpoint(&mut self) -> io::Result<u64> {
        match &mut self.out {
            Output::Stdout(out) => out.flush().map(|()| 0),
            Output::File(out) => {
                out.flush()?;
                sync(out.get_ref())
            }
        }
    }
}

/// CSV with a header row of field names in declaration order.
///
/// The header is fixed by the spider's fields, or, for whole-item JSON
/// records, by the first record's keys (read back from the file on a
/// resume). A key a later record brings that the header lacks is left out
/// of the row, with one warning per key naming it and the file.
pub(super) struct CsvWriter {
    out: csv::Writer<Tracked>,
    /// The file, for warnings.
    path: String,
    /// Empty until known: a JSON spider without fields takes the first record's keys.
    columns: Vec<String>,
    header_written: bool,
    /// Keys left out so far, each warned about once.
    left_out: HashSet<String>,
}

impl CsvWriter {
    /// `resumed`: the file already holds the header (and maybe rows);
    /// `columns` are then the header's.
    pub(super) fn new(
        file: Tracked,
        path: &Path,
        columns: Vec<String>,
        resumed: bool,
    ) -> CsvWriter {
        CsvWriter {
            out: csv::Writer::from_writer(file),
            path: path.display().to_string(),
            columns,
            header_written: resumed,
            left_out: HashSet::new(),
        }
    }

    pub(super) fn open_file(&self) -> &File {
        self.out.get_ref().file()
    }

    /// What the file holds, once flushed.
    pub(super) fn prefix(&self) -> Prefix {
        self.out.get_ref().prefix()
    }

    pub(super) fn write(&mut self, record: &Record) -> io::Result<()> {
        if self.columns.is_empty() {
            self.columns = record.fields().keys().cloned().collect();
        }
        if !self.header_written {
            self.out.write_record(&self.columns)?;
            self.header_written = true;
        }
        self.warn_left_out(record);
        let row = self.columns.iter().map(|name| cell(record.get(name)));
        self.out.write_record(row)?;
        Ok(())
    }

    /// Warns, once per key, of keys the header has no column for.
    fn warn_left_out(&mut self, record: &Record) {
        if record.fields().len() <= self.columns.len()
            && record
                .fields()
                .keys()
                .zip(&self.columns)
                .all(|(k, c)| k == c)
        {
            return; // the usual case, checked without a lookup per key
        }
        for key in record.fields().keys() {
            if self.columns.contains(key) || !self.left_out.insert(key.clone()) {
                continue;
            }
            tracing::warn!(
                "{}: key `{key}` is not in the CSV header (the first record's keys), so its \
                 values are left out; write .jsonl, .json or a database to keep every key \
                 (said once per key)",
                self.path
            );
        }
    }

    pub(super) fn checkpoint(&mut self) -> io::Result<u64> {
        self.out.flush()?;
        sync(self.out.get_ref())
    }

    pub(super) fn position(&mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.out.get_ref().prefix().len)
    }

    pub(super) fn finish(mut self) -> io::Result<()> {
        if !self.header_written && !self.columns.is_empty() {
            self.out.write_record(&self.columns)?;
        }
        self.checkpoint().map(drop)
    }
}

/// A CSV cell: strings as they are, `null` empty, anything else as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// One well-formed JSON array, closed even when the writer is dropped.
///
/// The committed position is always just after a record (or 0), never after
/// the closing bracket, so a resume cuts the bracket off and goes on.
pub(super) struct JsonArrayWriter {
    out: Option<BufWriter<Tracked>>,
    /// Whether a record precedes the next one (so it needs a comma).
    started: bool,
}

impl JsonArrayWriter {
    /// `position` > 0 means the file already holds the opening of the array.
    pub(super) fn new(file: Tracked, position: u64) -> JsonArrayWriter {
        JsonArrayWriter {
            out: Some(BufWriter::with_capacity(64 * 1024, file)),
            started: position > 0,
        }
    }

    pub(super) fn open_file(&self) -> Option<&File> {
        self.out.as_ref().map(|out| out.get_ref().file())
    }

    /// What the file holds, once flushed.
    pub(super) fn prefix(&self) -> Option<Prefix> {
        self.out.as_ref().map(|out| out.get_ref().prefix())
    }

    pub(super) fn write(&mut self, record: &Record) -> io::Result<()> {
        let out = self.out.as_mut().expect("written only before finish");
        out.write_all(if self.started { b",\n" } else { b"[\n" })?;
        serde_json::to_writer(&mut *out, record)?;
        self.started = true;
        Ok(())
    }

    pub(super) fn position(&mut self) -> io::Result<u64> {
        let out = self.out.as_mut().expect("only before finish");
        out.flush()?;
        Ok(out.get_ref().prefix().len)
    }

    pub(super) fn checkpoint(&mut self) -> io::Result<u64> {
        let out = self.out.as_mut().expect("checkpointed only before finish");
        out.flush()?;
        sync(out.get_ref())
    }

    pub(super) fn finish(mut self) -> io::Result<()> {
        self.close()
    }

    fn close(&mut self) -> io::Result<()> {
        let Some(mut out) = self.out.take() else {
            return Ok(());
        };
        out.write_all(if self.started { b"\n]\n" } else { b"[]\n" })?;
        out.flush()?;
        out.get_ref().file().sync_data()
    }
}

impl Drop for JsonArrayWriter {
    fn drop(&mut self) {
        // The safety net for exits that skip `finish`: keep the array well-formed.
        let _ = self.close();
    }
}
