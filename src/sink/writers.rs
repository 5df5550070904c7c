//! The three file formats. Synchronous, buffered; `finish` flushes and syncs.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use serde_json::Value;

use crate::crawl::Record;

/// One JSON object per line.
pub struct JsonLinesWriter {
    out: BufWriter<Box<dyn Write + Send>>,
    file: Option<File>,
    /// Stdout is flushed per record, so records leave as soon as they exist.
    eager: bool,
}

impl JsonLinesWriter {
    pub fn stdout() -> JsonLinesWriter {
        JsonLinesWriter {
            out: BufWriter::new(Box::new(io::stdout())),
            file: None,
            eager: true,
        }
    }

    pub fn file(file: File) -> JsonLinesWriter {
        let sync_handle = file.try_clone().ok();
        JsonLinesWriter {
            out: BufWriter::with_capacity(64 * 1024, Box::new(file)),
            file: sync_handle,
            eager: false,
        }
    }

    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        if self.eager {
            self.out.flush()?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        match &self.file {
            Some(file) => file.sync_all(),
            None => Ok(()),
        }
    }
}

/// CSV with a header row of field names in declaration order.
pub struct CsvWriter {
    out: csv::Writer<File>,
    /// Empty until known: a JSON spider without fields takes the first record's keys.
    columns: Vec<String>,
    header_written: bool,
}

impl CsvWriter {
    pub fn new(file: File, columns: Vec<String>) -> CsvWriter {
        CsvWriter {
            out: csv::Writer::from_writer(file),
            columns,
            header_written: false,
        }
    }

    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        if !self.header_written {
            if self.columns.is_empty() {
                self.columns = record.fields().keys().cloned().collect();
            }
            self.out.write_record(&self.columns)?;
            self.header_written = true;
        }
        let row = self.columns.iter().map(|name| cell(record.get(name)));
        self.out.write_record(row)?;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        if !self.header_written && !self.columns.is_empty() {
            self.out.write_record(&self.columns)?;
        }
        self.out.flush()?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
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
pub struct JsonArrayWriter {
    out: Option<BufWriter<File>>,
    count: u64,
}

impl JsonArrayWriter {
    pub fn new(file: File) -> JsonArrayWriter {
        JsonArrayWriter {
            out: Some(BufWriter::with_capacity(64 * 1024, file)),
            count: 0,
        }
    }

    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        let out = self.out.as_mut().expect("written only before finish");
        out.write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, record)?;
        self.count += 1;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.close()
    }

    fn close(&mut self) -> io::Result<()> {
        let Some(mut out) = self.out.take() else {
            return Ok(());
        };
        out.write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
        out.flush()?;
        out.get_ref().sync_all()
    }
}

impl Drop for JsonArrayWriter {
    fn drop(&mut self) {
        // The safety net for exits that skip `finish`: keep the array well-formed.
        let _ = self.close();
    }
}
