//! `-o postgres://…`: one table named after the spider, written through a small pool.

use crate::crawl::Record;

/// A PostgreSQL table that takes records.
pub struct PostgresSink {}

impl PostgresSink {
    /// Connects, checks the login and creates the table.
    pub async fn open(
        url: &str,
        _table: &str,
        _columns: &[String],
        _pool_size: usize,
    ) -> Result<PostgresSink, String> {
        Err(format!(
            "{}: PostgreSQL output is being written",
            redact(url)
        ))
    }

    /// Buffers one row.
    pub async fn write(&mut self, _record: &Record) -> Result<(), String> {
        Ok(())
    }

    /// Inserts every buffered row.
    pub async fn checkpoint(&mut self) -> Result<u64, String> {
        Ok(0)
    }

    /// Checkpoints and closes the pool.
    pub async fn finish(self) -> Result<(), String> {
        Ok(())
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
