//! One trawl per state directory: an exclusive advisory lock on
//! `trawl.lock`, holding the PID of the process that took it.
//!
//! The lock belongs to the open file, so it goes when the [`StateLock`] is
//! dropped or the process ends in any way, SIGKILL included: a stale lock
//! file never blocks a resume. Locking comes from `fs4` (`flock` on unix,
//! `LockFileEx` on Windows) because std's `File::try_lock` needs Rust 1.89,
//! above the crate's rust-version.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use fs4::FileExt;
use fs4::TryLockError;

use super::StateError;

/// The lock file inside the state directory.
pub const LOCK_FILE: &str = "trawl.lock";

/// The state directory's lock, held while this value lives.
#[derive(Debug)]
pub(crate) struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock on `dir` without waiting; a directory another process
    /// holds is [`StateError::Locked`], and nothing in it is touched.
    pub(crate) fn take(dir: &Path) -> Result<StateLock, StateError> {
        let path = dir.join(LOCK_FILE);
        let io = |e: std::io::Error| StateError::Io {
            path: path.clone(),
            reason: format!("cannot lock the state directory ({e})"),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // Called through the trait: from Rust 1.89 std's own `File::try_lock`
        // would take precedence, with another error type.
        match FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StateError::Locked {
                    dir: dir.to_path_buf(),
                    pid: holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(StateLock { _file: file })
    }
}

/// The PID the holder wrote, if it has written it yet.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_dropped_one_frees_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::take(dir.path()).unwrap();
        match StateLock::take(dir.path()) {
            Err(StateError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        StateLock::take(dir.path()).expect("free again once dropped");
    }
}
