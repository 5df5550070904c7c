//! Detail pages: each fetched once, its fields shared by every record that
//! follows it — in memory while records wait for it, on disk after.
//!
//! A detail URL may be shared by records far apart in the crawl, so its
//! fields must outlive the records that first needed it. Keeping them all in
//! memory would grow with the site; instead, once no waiting record needs
//! them, they move to a private temporary SQLite database (deleted when the
//! crawl ends), keyed by a 64-bit hash of the URL. Memory holds only the
//! pages that records are waiting for, so it stays flat however many detail
//! pages the crawl sees.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use crate::extract::Fields;

/// A detail page's key: a hash of its normalised URL.
pub(super) type DetailKey = u64;

/// Hashes a normalised URL. 64 bits make a collision among a million URLs
/// about a one-in-ten-million chance.
pub(super) fn url_key(normalized_url: &str) -> DetailKey {
    let mut hasher = std::hash::DefaultHasher::new();
    normalized_url.hash(&mut hasher);
    hasher.finish()
}

/// A detail page records are waiting for (or that failed).
enum Entry {
    Fetching {
        waiters: u32,
    },
    Ready {
        fields: Arc<Fields>,
        waiters: u32,
    },
    Failed,
    /// This machine failed to fetch it (a local fault): its records wait,
    /// and the crawl stops at the first of them.
    Local {
        url: String,
        reason: String,
    },
}

/// What a record waiting on a detail page finds.
pub(super) enum Lookup {
    /// Still being fetched.
    Pending,
    /// The fields.
    Ready(Arc<Fields>),
    /// The page failed (or is unknown): detail fields are `null`.
    Missing,
    /// A local fault: the page's URL and why; its records cannot be made.
    Local(String, String),
}

/// Every detail page of the crawl.
#[derive(Default)]
pub(super) struct Details {
    entries: HashMap<DetailKey, Entry>,
    /// Opened on first use; `None` also when it could not be opened (then
    /// fields stay in memory).
    archive: Option<Archive>,
    archive_failed: bool,
}

impl Details {
    /// A record needs `key`; returns `true` when the page is new and must be fetched.
    pub(super) fn claim(&mut self, key: DetailKey) -> bool {
        match self.entries.get_mut(&key) {
            Some(Entry::Fetching { waiters }) | Some(Entry::Ready { waiters, .. }) => {
                *waiters += 1;
                return false;
            }
            Some(Entry::Failed | Entry::Local { .. }) => return false,
            None => {}
        }
        if self.archived(key) {
            return false;
        }
        self.entries.insert(key, Entry::Fetching { waiters: 1 });
        true
    }

    /// A fetch finished.
    pub(super) fn resolve(&mut self, key: DetailKey, fields: Option<Fields>) {
        let waiters = match self.entries.get(&key) {
            Some(Entry::Fetching { waiters }) => *waiters,
            _ => 0,
        };
        let entry = match fields {
            Some(fields) => Entry::Ready {
                fields: Arc::new(fields),
                waiters,
            },
            None => Entry::Failed,
        };
        self.entries.insert(key, entry);
    }

    /// A fetch failed with a local fault (see [`Lookup::Local`]).
    pub(super) fn resolve_local(&mut self, key: DetailKey, url: String, reason: String) {
        self.entries.insert(key, Entry::Local { url, reason });
    }

    /// Fields fetched by an earlier run (resume).
    pub(super) fn preload(&mut self, key: DetailKey, fields: Fields) {
        self.archive_or_keep(key, Arc::new(fields));
    }

    /// The fields for `key`, as a waiting record sees them.
    pub(super) fn lookup(&self, key: DetailKey) -> Lookup {
        match self.entries.get(&key) {
            Some(Entry::Fetching { .. }) => Lookup::Pending,
            Some(Entry::Ready { fields, .. }) => Lookup::Ready(fields.clone()),
            Some(Entry::Failed) => Lookup::Missing,
            Some(Entry::Local { url, reason }) => Lookup::Local(url.clone(), reason.clone()),
            None => match self.archive.as_ref().map(|a| a.get(key)) {
                Some(Ok(Some(fields))) => Lookup::Ready(Arc::new(fields)),
                Some(Err(e)) => {
                    tracing::warn!("cannot read archived detail fields: {e}");
                    Lookup::Missing
                }
                _ => Lookup::Missing,
            },
        }
    }

    /// A record that needed `key` has been emitted; the last one out archives the fields.
    pub(super) fn release(&mut self, key: DetailKey) {
        let Some(Entry::Ready { fields, waiters }) = self.entries.get_mut(&key) else {
            return;
        };
        *waiters = waiters.saturating_sub(1);
        if *waiters == 0 {
            let fields = fields.clone();
            self.archive_or_keep(key, fields);
        }
    }

    fn archived(&self, key: DetailKey) -> bool {
        self.archive
            .as_ref()
            .is_some_and(|a| a.contains(key).unwrap_or(false))
    }

    /// Moves fields to the archive; if there is none to be had, they stay in memory.
    fn archive_or_keep(&mut self, key: DetailKey, fields: Arc<Fields>) {
        if self.archive.is_none() && !self.archive_failed {
            match Archive::open() {
                Ok(archive) => self.archive = Some(archive),
                Err(e) => {
                    tracing::warn!(
                        "cannot open a temporary database for detail fields (kept in memory): {e}"
                    );
                    self.archive_failed = true;
                }
            }
        }
        let stored = match &self.archive {
            Some(archive) => archive.put(key, &fields),
            None => Err(rusqlite::Error::InvalidQuery),
        };
        match stored {
            Ok(()) => {
                self.entries.remove(&key);
            }
            Err(_) => {
                self.entries
                    .insert(key, Entry::Ready { fields, waiters: 0 });
            }
        }
    }
}

/// Detail fields no record waits for, in a private temporary database.
struct Archive {
    conn: Connection,
}

impl Archive {
    fn open() -> rusqlite::Result<Archive> {
        // An empty path is a private on-disk database, deleted on close. It
        // needs no journal or syncing: it lives and dies with this crawl.
        let conn = Connection::open("")?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2048;
             CREATE TABLE details (key INTEGER PRIMARY KEY, fields BLOB NOT NULL);",
        )?;
        Ok(Archive { conn })
    }

    fn put(&self, key: DetailKey, fields: &Fields) -> rusqlite::Result<()> {
        let bytes = serde_json::to_vec(fields).expect("fields serialise");
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO details (key, fields) VALUES (?1, ?2)")?
            .execute(rusqlite::params![key as i64, bytes])
            .map(drop)
    }

    fn contains(&self, key: DetailKey) -> rusqlite::Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM details WHERE key = ?1")?
            .exists([key as i64])
    }

    fn get(&self, key: DetailKey) -> rusqlite::Result<Option<Fields>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT fields FROM details WHERE key = ?1")?
            .query_row([key as i64], |row| row.get(0))
            .optional()?;
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(text: &str) -> Fields {
        match json!({ "description": text }) {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn ready(details: &Details, key: DetailKey) -> Option<Fields> {
        match details.lookup(key) {
            Lookup::Ready(f) => Some((*f).clone()),
            _ => None,
        }
    }

    #[test]
    fn shared_details_are_fetched_once_and_survive_archiving() {
        let mut d = Details::default();
        let (a, b) = (url_key("http://h/a"), url_key("http://h/b"));
        assert!(d.claim(a), "first claim fetches");
        assert!(!d.claim(a), "second claim waits");
        assert!(matches!(d.lookup(a), Lookup::Pending));
        d.resolve(a, Some(fields("A")));
        d.release(a);
        assert!(
            matches!(d.entries[&a], Entry::Ready { .. }),
            "one record still waits"
        );
        d.release(a);
        assert!(!d.entries.contains_key(&a), "archived, out of memory");
        assert!(!d.claim(a), "an archived page is never fetched again");
        assert_eq!(ready(&d, a), Some(fields("A")));
        assert!(d.claim(b));
        d.resolve(b, None);
        assert!(matches!(d.lookup(b), Lookup::Missing));
        d.preload(url_key("http://h/c"), fields("C"));
        assert!(
            !d.claim(url_key("http://h/c")),
            "a preloaded page is not fetched"
        );
        assert_eq!(ready(&d, url_key("http://h/c")), Some(fields("C")));
        assert_eq!(ready(&d, a), Some(fields("A")));
    }
}
