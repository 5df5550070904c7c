//! Detail pages: each fetched once, its fields shared by every record that
//! follows it — in memory while records wait for it, on disk after.
//!
//! A detail URL may be shared by records far apart in the crawl, so its
//! fields must outlive the records that first needed it. Keeping them all in
//! memory would grow with the site; instead, once no waiting record needs
//! them, they move to an anonymous temporary file, and the map keeps a 64-bit
//! hash of the URL and the fields' place in the file — a few dozen bytes per
//! detail page however large the fields are.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use crate::extract::Fields;

/// A detail page's key: a hash of its normalised URL.
pub type DetailKey = u64;

/// Hashes a normalised URL. 64 bits make a collision among a million URLs
/// about a one-in-ten-million chance.
pub fn detail_key(normalized_url: &str) -> DetailKey {
    let mut hasher = std::hash::DefaultHasher::new();
    normalized_url.hash(&mut hasher);
    hasher.finish()
}

/// What is known of one detail page.
enum Entry {
    Fetching { waiters: u32 },
    Ready { fields: Arc<Fields>, waiters: u32 },
    Archived { offset: u64, len: u32 },
    Failed,
}

/// What a record waiting on a detail page finds.
pub enum Lookup {
    /// Still being fetched.
    Pending,
    /// The fields.
    Ready(Arc<Fields>),
    /// The page failed (or is unknown): detail fields are `null`.
    Missing,
}

/// Every detail page of the crawl.
#[derive(Default)]
pub struct Details {
    entries: HashMap<DetailKey, Entry>,
    archive: Option<File>,
    archive_end: u64,
}

impl Details {
    /// A record needs `key`; returns `true` when the page is new and must be fetched.
    pub fn claim(&mut self, key: DetailKey) -> bool {
        match self.entries.get_mut(&key) {
            Some(Entry::Fetching { waiters }) | Some(Entry::Ready { waiters, .. }) => {
                *waiters += 1;
                false
            }
            Some(Entry::Archived { .. }) | Some(Entry::Failed) => false,
            None => {
                self.entries.insert(key, Entry::Fetching { waiters: 1 });
                true
            }
        }
    }

    /// A fetch finished.
    pub fn resolve(&mut self, key: DetailKey, fields: Option<Fields>) {
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

    /// Fields fetched by an earlier run (resume).
    pub fn preload(&mut self, key: DetailKey, fields: Fields) -> io::Result<()> {
        let (offset, len) = self.write_archive(&fields)?;
        self.entries.insert(key, Entry::Archived { offset, len });
        Ok(())
    }

    /// The fields for `key`, as a waiting record sees them.
    pub fn lookup(&self, key: DetailKey) -> Lookup {
        match self.entries.get(&key) {
            Some(Entry::Fetching { .. }) => Lookup::Pending,
            Some(Entry::Ready { fields, .. }) => Lookup::Ready(fields.clone()),
            Some(Entry::Archived { offset, len }) => match self.read_archive(*offset, *len) {
                Ok(fields) => Lookup::Ready(Arc::new(fields)),
                Err(e) => {
                    tracing::warn!("cannot read archived detail fields: {e}");
                    Lookup::Missing
                }
            },
            Some(Entry::Failed) | None => Lookup::Missing,
        }
    }

    /// A record that needed `key` has been emitted; the last one out archives the fields.
    pub fn release(&mut self, key: DetailKey) {
        let Some(Entry::Ready { fields, waiters }) = self.entries.get_mut(&key) else {
            return;
        };
        *waiters = waiters.saturating_sub(1);
        if *waiters > 0 {
            return;
        }
        let fields = fields.clone();
        match self.write_archive(&fields) {
            Ok((offset, len)) => {
                self.entries.insert(key, Entry::Archived { offset, len });
            }
            Err(e) => tracing::warn!("cannot archive detail fields (kept in memory): {e}"),
        }
    }

    fn write_archive(&mut self, fields: &Fields) -> io::Result<(u64, u32)> {
        if self.archive.is_none() {
            self.archive = Some(tempfile::tempfile()?);
        }
        let file = self.archive.as_ref().expect("created above");
        let bytes = serde_json::to_vec(fields)?;
        let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
        let offset = self.archive_end;
        file.write_all_at(&bytes, offset)?;
        self.archive_end += u64::from(len);
        Ok((offset, len))
    }

    fn read_archive(&self, offset: u64, len: u32) -> io::Result<Fields> {
        let file = self
            .archive
            .as_ref()
            .ok_or_else(|| io::Error::other("no archive"))?;
        let mut bytes = vec![0; len as usize];
        file.read_exact_at(&mut bytes, offset)?;
        Ok(serde_json::from_slice(&bytes)?)
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
        let (a, b) = (detail_key("http://h/a"), detail_key("http://h/b"));
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
        assert!(matches!(d.entries[&a], Entry::Archived { .. }));
        assert!(!d.claim(a), "an archived page is never fetched again");
        assert_eq!(ready(&d, a), Some(fields("A")));
        assert!(d.claim(b));
        d.resolve(b, None);
        assert!(matches!(d.lookup(b), Lookup::Missing));
        d.preload(detail_key("http://h/c"), fields("C")).unwrap();
        assert_eq!(ready(&d, detail_key("http://h/c")), Some(fields("C")));
        assert_eq!(ready(&d, a), Some(fields("A")));
    }
}
