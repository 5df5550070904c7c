//! `unique`: the values a crawl has seen, in flat memory.
//!
//! Each value is kept as a 64-bit hash. Up to [`SPILL_AT`] hashes live in a
//! `HashSet`; past that they move to a private temporary SQLite database
//! (deleted when the crawl ends), as the detail archive does, so memory stays
//! flat however many records a crawl sees. The state store keeps the values
//! themselves, so a resumed crawl rebuilds the set whatever hash this build uses.

use std::collections::HashSet;

use rusqlite::Connection;

use super::details::url_key;

/// Hashes kept in memory before they move to disk (about 1 MiB).
const SPILL_AT: usize = 1 << 16;

/// The set of values seen so far.
#[derive(Default)]
pub(super) struct Seen {
    memory: HashSet<u64>,
    disk: Option<Connection>,
    /// The disk could not be opened: everything stays in memory.
    disk_failed: bool,
}

impl Seen {
    /// Adds `value`; `true` when it was not seen before.
    pub(super) fn insert(&mut self, value: &str) -> bool {
        let hash = url_key(value);
        if self.memory.contains(&hash) || self.on_disk(hash) {
            return false;
        }
        self.memory.insert(hash);
        if self.memory.len() >= SPILL_AT {
            self.spill();
        }
        true
    }

    fn on_disk(&self, hash: u64) -> bool {
        let Some(conn) = &self.disk else { return false };
        conn.prepare_cached("SELECT 1 FROM seen WHERE hash = ?1")
            .and_then(|mut stmt| stmt.exists([hash as i64]))
            .unwrap_or(false)
    }

    /// Moves the in-memory hashes to disk, opening it on first use.
    fn spill(&mut self) {
        if self.disk.is_none() && !self.disk_failed {
            match open() {
                Ok(conn) => self.disk = Some(conn),
                Err(e) => {
                    tracing::warn!(
                        "cannot open a temporary database for `unique` (kept in memory): {e}"
                    );
                    self.disk_failed = true;
                }
            }
        }
        let Some(conn) = &mut self.disk else { return };
        let moved = conn.transaction().and_then(|tx| {
            {
                let mut stmt =
                    tx.prepare_cached("INSERT OR IGNORE INTO seen (hash) VALUES (?1)")?;
                for hash in &self.memory {
                    stmt.execute([*hash as i64])?;
                }
            }
            tx.commit()
        });
        match moved {
            Ok(()) => self.memory.clear(),
            Err(e) => tracing::warn!("cannot move `unique` values to disk (kept in memory): {e}"),
        }
    }
}

fn open() -> rusqlite::Result<Connection> {
    // An empty path is a private on-disk database, deleted on close.
    let conn = Connection::open("")?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2048;
         CREATE TABLE seen (hash INTEGER PRIMARY KEY) WITHOUT ROWID;",
    )?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_across_the_spill() {
        let mut seen = Seen::default();
        let total = SPILL_AT + 10;
        for i in 0..total {
            assert!(seen.insert(&format!("value {i}")), "{i} is new");
        }
        assert!(seen.disk.is_some(), "spilled to disk");
        assert!(seen.memory.len() < SPILL_AT);
        for i in [0, 1, SPILL_AT - 1, SPILL_AT, total - 1] {
            assert!(!seen.insert(&format!("value {i}")), "{i} was seen");
        }
        assert!(seen.insert("something else"));
    }
}
