//! The file-descriptor budget: how many sockets a crawl may hold at once,
//! derived from the process's open-file limit (`RLIMIT_NOFILE`).
//!
//! Every connection is a descriptor, in flight or idle in the pool. reqwest
//! caps idle connections per host only, so a crawl of thousands of hosts
//! would keep one idle socket per host until the idle timeout and run out
//! of descriptors (EMFILE) long before it ran out of work. [`Budget`] splits
//! the limit: a reserve for the process itself, the requests in flight, and
//! the idle connections, which `pool.rs` keeps within their share.
//!
//! Raising the limit is the binary's decision ([`raise_open_files_limit`]):
//! a library does not change its host process's limits behind its back.

use std::time::Duration;

/// Descriptors kept for the process itself: stdio, the runtime's epoll and
/// wakers, the state store (SQLite database, WAL, shared memory, lock), the
/// output, the detail archive and frontier spill files, with room to spare.
pub(super) const RESERVED_FDS: u64 = 48;

/// The most idle connections kept, whatever the limit: an idle socket costs
/// the server a slot too, and a crawl gains nothing from thousands of them.
pub(super) const MAX_IDLE: usize = 1024;

/// How long an unused connection is kept. Most servers close theirs sooner
/// (Apache after 5 s, nginx after 75 s); a host asked again within this
/// saves a handshake, and a host left behind frees its socket by then.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The limit assumed when it cannot be read (non-Unix systems): Linux's
/// usual soft default.
const UNKNOWN_LIMIT: u64 = 1024;

/// How the descriptors a crawl may use are shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    /// Requests in flight at once: the spider's `concurrency`, or fewer when
    /// the limit could not hold that many sockets beside the idle ones.
    pub in_flight: usize,
    /// Idle connections kept per host.
    pub idle_per_host: usize,
    /// Hosts one client's pool serves before it is replaced by a fresh one
    /// (whose idle connections start at none); the old pool's sockets close
    /// as its last requests end.
    pub hosts_per_pool: usize,
}

impl Budget {
    /// The budget for a process allowed `limit` open files, crawling with
    /// `concurrency`.
    ///
    /// After [`RESERVED_FDS`], at most half goes to requests in flight; of
    /// what is left, half to idle connections, since a replaced pool's idle
    /// sockets may linger beside the new pool's until its last request
    /// ends. So at most `reserve + in_flight + 2 × idle` descriptors are
    /// sockets or the process's own, within the limit.
    pub(super) fn new(limit: u64, concurrency: usize) -> Budget {
        let usable = limit.saturating_sub(RESERVED_FDS);
        let usable = usize::try_from(usable).unwrap_or(usize::MAX);
        let in_flight = concurrency.min(usable / 2).max(1);
        let idle = (usable.saturating_sub(in_flight) / 2).clamp(1, MAX_IDLE);
        let idle_per_host = in_flight.min(idle);
        Budget {
            in_flight,
            idle_per_host,
            hosts_per_pool: (idle / idle_per_host).max(1),
        }
    }
}

/// The process's soft open-file limit, as the budget reads it.
pub(super) fn open_files_limit() -> u64 {
    match rlimit::Resource::NOFILE.get() {
        Ok((soft, _)) => soft,
        Err(_) => UNKNOWN_LIMIT,
    }
}

/// The soft limit as an error message states it.
pub(super) fn describe_limit() -> String {
    match rlimit::Resource::NOFILE.get() {
        Ok((soft, hard)) if soft < hard => format!("{soft}, of at most {hard}"),
        Ok((soft, _)) => soft.to_string(),
        Err(_) => "unknown".to_string(),
    }
}

/// Raises the soft open-file limit to the hard limit, and returns both,
/// before and after: `(was, now)`. A crawl of many hosts needs descriptors
/// that the usual soft default (1024) may not have.
///
/// The `trawl` binary calls this at start; a program using the library
/// decides for itself, since the limit is the whole process's.
pub fn raise_open_files_limit() -> std::io::Result<(u64, u64)> {
    let was = open_files_limit();
    let now = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok((was, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_sockets_within_the_limit() {
        // (limit, concurrency) → (in flight, idle per host, hosts per pool)
        for (limit, concurrency, expected) in [
            (1024, 16, (16, 16, 30)),
            (1024, 1, (1, 1, 487)),
            (1_048_576, 16, (16, 16, 64)),
            (1_048_576, 10_000, (10_000, 1024, 1)),
            (256, 16, (16, 16, 6)),
            (64, 16, (8, 4, 1)),
            (64, 2, (2, 2, 3)),
            (20, 16, (1, 1, 1)),
            (0, 16, (1, 1, 1)),
        ] {
            let budget = Budget::new(limit, concurrency);
            let got = (
                budget.in_flight,
                budget.idle_per_host,
                budget.hosts_per_pool,
            );
            assert_eq!(got, expected, "limit {limit}, concurrency {concurrency}");
            let idle = (budget.idle_per_host * budget.hosts_per_pool) as u64;
            if limit >= 2 * RESERVED_FDS {
                let used = RESERVED_FDS + budget.in_flight as u64 + 2 * idle;
                assert!(used <= limit, "{used} > {limit}");
            }
        }
    }
}
