//! SIGKILL-and-resume pieces shared by the CLI-level test binaries: seeded
//! kill moments, what the state has committed (read from a copy, so the
//! crawl's own database is never touched), and a run of the binary that is
//! killed a while after its state commits.
//!
//! Gating each kill on a commit of the run's own means every killed run
//! makes progress, so a crawl interrupted any number of times still ends,
//! and a page is fetched again only when a kill caught it uncommitted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::binary::{command, Run, RUN_LIMIT};

/// The state database `--state DIR` keeps in DIR.
pub const STATE_FILE: &str = "trawl-state.sqlite";

/// xorshift64*: small, seedable, good enough to spread kill moments.
pub struct XorShift(pub u64);

impl XorShift {
    /// Seeded from `TRAWL_KILL_SEED` when set, else the clock, mixed with
    /// `stream` so each test draws its own sequence; prints how to replay it.
    pub fn seeded(stream: &str) -> XorShift {
        let seed = std::env::var("TRAWL_KILL_SEED")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970")
                    .as_nanos() as u64
            });
        println!("{stream}: kill seed: TRAWL_KILL_SEED={seed} replays it");
        // FNV-1a of the stream's name.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in stream.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        XorShift((seed ^ h) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Records the state in `dir` has committed (0 before the first commit),
/// read from a copy so the crawl's own database is never touched.
pub fn committed_in(dir: &Path) -> u64 {
    let db = dir.join(STATE_FILE);
    if !db.exists() {
        return 0;
    }
    let scratch = TempDir::new().expect("scratch dir");
    for suffix in ["", "-wal"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        // The file may vanish or change under the copy: that poll reads 0.
        let _ = std::fs::copy(&from, scratch.path().join(format!("{STATE_FILE}{suffix}")));
    }
    rusqlite::Connection::open(scratch.path().join(STATE_FILE))
        .and_then(|c| {
            c.query_row("SELECT records FROM progress WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map_or(0, |n| n as u64)
}

/// Runs `trawl ARGS`; with `kill`, SIGKILLs it that long after the state
/// in `state` has committed more than it had at the start. Returns whether
/// the kill landed on a running process, and the run.
pub async fn run_killable(args: &[String], state: &Path, kill: Option<Duration>) -> (bool, Run) {
    let committed = committed_in(state);
    let started = Instant::now();
    let mut child = command(args).spawn().expect("spawn trawl");
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll trawl") {
            break status;
        }
        if let Some(after) = kill.filter(|_| !killed) {
            match kill_at {
                None if committed_in(state) > committed => kill_at = Some(Instant::now() + after),
                Some(at) if Instant::now() >= at => {
                    child.kill().expect("SIGKILL trawl");
                    killed = true;
                }
                _ => {}
            }
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("trawl {args:?} did not finish within {RUN_LIMIT:?}");
        }
        // Polling the state: it sends no notifications.
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let output = child.wait_with_output().expect("collect output");
    let run = Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (killed && run.code.is_none(), run)
}

/// `N` from "resuming from DIR (N records committed)", if the run resumed.
pub fn resumed_at(stderr: &str) -> Option<usize> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("trawl: resuming from "))?;
    let n = line.rsplit('(').next()?.split(' ').next()?;
    Some(n.parse().unwrap_or_else(|_| panic!("no count in {line:?}")))
}
