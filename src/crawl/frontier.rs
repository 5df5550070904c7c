//! The frontier: requests discovered and not yet fetched, in discovery order.
//!
//! The engine always takes the earliest request ([`OrderKey`] order). Up to
//! [`SPILL_AT`] requests live in a `BTreeMap`; past that the later half moves
//! to a private temporary SQLite database (deleted when the crawl ends),
//! sorted by the key's bytes, and comes back a batch at a time as the memory
//! half empties. So a link crawl that discovers 100,000 pages holds a few
//! thousand in memory. Memory always holds the earliest requests: every key
//! on disk is at or after `boundary`, every key in memory before it.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use url::Url;

use super::order::OrderKey;
use super::request::Request;

/// Requests kept in memory before the later half moves to disk.
const SPILL_AT: usize = 8192;

/// Drops the fragment; the `url` crate already lower-cases scheme and host
/// and removes a default port (SPEC §5 "URLs").
pub(super) fn normalize(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.into()
}

/// Requests waiting to be fetched.
#[derive(Default)]
pub(super) struct Frontier {
    memory: BTreeMap<OrderKey, Request>,
    disk: Option<Connection>,
    on_disk: usize,
    /// The earliest key on disk, while anything is there.
    boundary: Option<OrderKey>,
    /// The disk could not be used: everything stays in memory.
    disk_failed: bool,
}

impl Frontier {
    /// Adds a request.
    pub(super) fn push(&mut self, request: Request) {
        if self.boundary.as_ref().is_some_and(|b| request.key >= *b) {
            match self.write(std::slice::from_ref(&request)) {
                Ok(()) => return,
                Err(e) => self.give_up_disk(e),
            }
        }
        self.memory.insert(request.key.clone(), request);
        if self.memory.len() > SPILL_AT {
            self.spill();
        }
    }

    /// The earliest request's key, without taking it.
    pub(super) fn first_key(&mut self) -> Option<&OrderKey> {
        self.refill();
        self.memory.keys().next()
    }

    /// Takes the earliest request.
    pub(super) fn pop(&mut self) -> Option<Request> {
        self.refill();
        self.memory.pop_first().map(|(_, request)| request)
    }

    /// Whether nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.on_disk == 0
    }

    /// Moves the later half of memory to disk.
    fn spill(&mut self) {
        if self.disk_failed {
            return;
        }
        if self.disk.is_none() {
            match open() {
                Ok(conn) => self.disk = Some(conn),
                Err(e) => return self.give_up_disk(e),
            }
        }
        let keep = self.memory.len() / 2;
        let Some(split) = self.memory.keys().nth(keep).cloned() else {
            return;
        };
        let moved: Vec<Request> = self.memory.split_off(&split).into_values().collect();
        match self.write(&moved) {
            Ok(()) => self.boundary = Some(split),
            Err(e) => {
                self.give_up_disk(e);
                self.memory
                    .extend(moved.into_iter().map(|r| (r.key.clone(), r)));
            }
        }
    }

    fn write(&mut self, requests: &[Request]) -> rusqlite::Result<()> {
        let Some(conn) = &mut self.disk else {
            return Err(rusqlite::Error::InvalidQuery);
        };
        let tx = conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT OR REPLACE INTO pending (key, request) VALUES (?1, ?2)")?;
            for request in requests {
                let text = serde_json::to_string(request).unwrap_or_default();
                stmt.execute(params![request.key.to_bytes(), text])?;
            }
        }
        tx.commit()?;
        self.on_disk += requests.len();
        Ok(())
    }

    /// Brings the earliest batch back from disk once memory is empty.
    fn refill(&mut self) {
        if !self.memory.is_empty() || self.on_disk == 0 {
            return;
        }
        match self.read_batch(SPILL_AT / 2) {
            Ok(batch) => {
                self.on_disk -= batch.len();
                self.memory
                    .extend(batch.into_iter().map(|r| (r.key.clone(), r)));
                self.boundary = match self.on_disk {
                    0 => None,
                    _ => self.earliest_on_disk(),
                };
            }
            Err(e) => tracing::warn!("cannot read the spilled frontier back: {e}"),
        }
    }

    fn read_batch(&mut self, limit: usize) -> rusqlite::Result<Vec<Request>> {
        let Some(conn) = &mut self.disk else {
            return Ok(Vec::new());
        };
        let tx = conn.transaction()?;
        let rows: Vec<(Vec<u8>, String)> = tx
            .prepare_cached("SELECT key, request FROM pending ORDER BY key LIMIT ?1")?
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        if let Some((last, _)) = rows.last() {
            tx.execute("DELETE FROM pending WHERE key <= ?1", [last])?;
        }
        tx.commit()?;
        Ok(rows
            .into_iter()
            .filter_map(|(_, text)| serde_json::from_str(&text).ok())
            .collect())
    }

    fn earliest_on_disk(&self) -> Option<OrderKey> {
        let conn = self.disk.as_ref()?;
        conn.query_row("SELECT key FROM pending ORDER BY key LIMIT 1", [], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .ok()
        .and_then(|bytes| OrderKey::from_bytes(&bytes))
    }

    fn give_up_disk(&mut self, e: rusqlite::Error) {
        tracing::warn!("cannot use a temporary database for the frontier (kept in memory): {e}");
        self.disk_failed = true;
    }
}

fn open() -> rusqlite::Result<Connection> {
    // An empty path is a private on-disk database, deleted on close.
    let conn = Connection::open("")?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2048;
         CREATE TABLE pending (key BLOB PRIMARY KEY, request TEXT NOT NULL) WITHOUT ROWID;",
    )?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::super::request::{Sequence, Step};
    use super::*;
    use crate::extract::Fields;

    fn request(key: OrderKey) -> Request {
        Request {
            url: Url::parse(&format!("http://h.test/{key}")).unwrap(),
            key,
            step: Step::List {
                number: 1,
                sequence: Sequence::Single,
            },
            carried: Fields::new(),
            start: 0,
            vars: Vec::new(),
        }
    }

    #[test]
    fn hands_out_the_earliest_first_across_the_spill() {
        let mut frontier = Frontier::default();
        let root = OrderKey::start(0);
        // Pushed in reverse, past the spill threshold twice over.
        let total = SPILL_AT as u32 * 2 + 5;
        for i in (0..total).rev() {
            frontier.push(request(root.child(i)));
        }
        assert!(frontier.on_disk > 0, "spilled");
        assert!(frontier.memory.len() <= SPILL_AT);
        // Something earlier than everything on disk still comes first.
        frontier.push(request(root.clone()));
        assert_eq!(frontier.pop().unwrap().key, root);
        let mut last = None;
        let mut count = 0;
        while let Some(r) = frontier.pop() {
            if let Some(last) = &last {
                assert!(r.key > *last, "{} after {last}", r.key);
            }
            // Late arrivals land in order too.
            if count == 100 {
                frontier.push(request(root.child(total + 1)));
                frontier.push(request(root.child(150).child(0)));
            }
            last = Some(r.key);
            count += 1;
        }
        assert_eq!(count, total as usize + 2);
        assert!(frontier.is_empty());
    }
}
