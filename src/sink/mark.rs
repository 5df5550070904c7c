//! What a checkpoint committed of an output, and whether it is still there.
//!
//! A resume cuts a file back to the committed position and goes on writing,
//! so it must first know that the bytes before that position are the ones
//! trawl wrote. A [`Mark`] holds the file's identity (device and inode on
//! unix), a CRC-32 of the whole committed prefix (kept as the bytes are
//! written, see `digest`) and a CRC-32 of the last [`TAIL`] bytes before the
//! position. A resume reads the whole prefix back and checks both; each
//! checkpoint checks, cheaply, the identity, the length and the tail, which
//! catch a file deleted, replaced, shortened, or edited where the last
//! commit ended (rereading the whole file at every checkpoint would cost as
//! much as writing it). For a database a mark holds the rows the table
//! had, which catches a table dropped or emptied.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Bytes before the committed position that a mark fingerprints.
pub(super) const TAIL: u64 = 4096;

/// What the output held at a commit, as the state keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Bytes for a file (the position a resume cuts back to); 0 for a database.
    pub position: u64,
    /// The file's device and inode, where the platform tells them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<(u64, u64)>,
    /// CRC-32 of the `TAIL` bytes (or fewer) before `position`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<u32>,
    /// CRC-32 of every byte before `position` (states written before it
    /// was kept have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u32>,
    /// Rows the table held, for a database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// How an output differs from what the state committed of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tamper {
    /// The file is gone.
    #[error("the file is gone, but the state committed {0} bytes of it")]
    Missing(u64),
    /// Another file is at the path.
    #[error("this is another file than the one trawl was writing (it was replaced)")]
    Replaced,
    /// The file is shorter than the commit.
    #[error("the file holds {found} bytes but the state committed {committed}; it was shortened")]
    Shorter {
        /// Bytes in the file.
        found: u64,
        /// Bytes committed.
        committed: u64,
    },
    /// Committed bytes differ.
    #[error("the bytes before the committed position ({0}) were edited")]
    Edited(u64),
    /// The table is gone.
    #[error("table `{table}` is gone, but the state committed {committed} rows in it")]
    TableMissing {
        /// The table.
        table: String,
        /// Rows committed.
        committed: u64,
    },
    /// The table has fewer rows than the commit.
    #[error("table `{table}` holds {found} rows but the state committed {committed}")]
    FewerRows {
        /// The table.
        table: String,
        /// Rows in the table.
        found: u64,
        /// Rows committed.
        committed: u64,
    },
}

/// The file's identity: device and inode on unix, nothing elsewhere.
pub(super) fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// A mark of the file at `path`, whose first `position` bytes are committed
/// (flushed: the file holds at least that many).
pub(super) fn of_file(path: &Path, position: u64) -> std::io::Result<Mark> {
    let file = File::open(path)?;
    Ok(Mark {
        position,
        file: identity(&file.metadata()?),
        tail: Some(tail(&file, position)?),
        prefix: None,
        rows: None,
    })
}

/// Checks that the file at `path` still holds what `mark` committed.
/// `open` is the file trawl writes to, if it has one open: the path must
/// still lead to it.
pub(super) fn check_file(path: &Path, mark: &Mark, open: Option<&File>) -> Result<(), Tamper> {
    let file = match File::open(path) {
        Ok(file) => file,
        // A file with nothing committed in it may be created again.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && mark.position == 0 => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Tamper::Missing(mark.position))
        }
        // Unreadable is not tampered; writing will say what is wrong.
        Err(_) => return Ok(()),
    };
    let Ok(meta) = file.metadata() else {
        return Ok(());
    };
    let expected = match open.and_then(|f| f.metadata().ok()) {
        Some(open) => identity(&open),
        None => mark.file,
    };
    if expected.is_some() && identity(&meta) != expected {
        return Err(Tamper::Replaced);
    }
    if meta.len() < mark.position {
        return Err(Tamper::Shorter {
            found: meta.len(),
            committed: mark.position,
        });
    }
    match (mark.tail, tail(&file, mark.position)) {
        (Some(want), Ok(found)) if want != found => Err(Tamper::Edited(mark.position)),
        _ => Ok(()),
    }
}

/// CRC-32 of the [`TAIL`] bytes (or fewer) before `position`.
fn tail(mut file: &File, position: u64) -> std::io::Result<u32> {
    let start = position.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((position - start) as usize);
    file.take(position - start).read_to_end(&mut bytes)?;
    Ok(crc32fast::hash(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_catches_each_change_behind_trawls_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let text = "{\"a\":1}\n".repeat(1000);
        let check = |content: Option<&str>, replace: bool| {
            std::fs::write(&path, &text).unwrap();
            let mark = of_file(&path, 6000).unwrap();
            if replace {
                // Written beside and renamed over: another inode, same bytes.
                let other = dir.path().join("other");
                std::fs::write(&other, &text).unwrap();
                std::fs::rename(&other, &path).unwrap();
                return check_file(&path, &mark, None);
            }
            match content {
                Some(content) => std::fs::write(&path, content).unwrap(),
                None => std::fs::remove_file(&path).unwrap(),
            }
            check_file(&path, &mark, None)
        };
        let longer = format!("{text}more");
        assert_eq!(check(Some(&longer), false), Ok(()));
        assert_eq!(
            check(Some(&text[..5000]), false),
            Err(Tamper::Shorter {
                found: 5000,
                committed: 6000
            })
        );
        assert_eq!(check(None, false), Err(Tamper::Missing(6000)));
        assert_eq!(check(Some(&text), true), Err(Tamper::Replaced));
        let edited = text.replacen("1", "2", 700);
        assert_eq!(check(Some(&edited), false), Err(Tamper::Edited(6000)));
    }
}
