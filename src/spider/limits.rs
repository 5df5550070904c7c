//! Rate, concurrency, timeouts and manners: `[limits]`, each value valid by type.
//!
//! The rules live here once: the spider file (`Limits::from_raw`) and the
//! command-line flags (`src/cli/args.rs`) both go through the `Limits::check_*`
//! functions, so a value that could not work is refused the same way, with
//! the same words, wherever it was written (SPEC §10 "Flags").

use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use super::raw::RawLimits;
use super::values::{format_duration, parse_duration, parse_size};

/// Requests per second per host; zero means unlimited. Never negative or NaN,
/// and never below one request a day, so `burst / rate` always fits a [`Duration`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// No limit.
    pub const UNLIMITED: Rate = Rate(0.0);
    /// The slowest rate accepted: one request a day.
    pub const MIN_PER_SECOND: f64 = 1.0 / 86_400.0;

    /// A rate, if `per_second` is 0 or at least [`Rate::MIN_PER_SECOND`] (and finite).
    pub fn new(per_second: f64) -> Option<Rate> {
        Limits::check_rate(per_second).ok()
    }

    /// Requests per second; 0 means unlimited.
    pub fn per_second(self) -> f64 {
        self.0
    }
}

/// How hard a crawl may push: SPEC §1 `[limits]`, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Requests per second per host (default 2; 0 = unlimited).
    pub rate: Rate,
    /// Requests a host may receive back to back (default 1; at most
    /// [`Limits::MAX_BURST`]).
    pub burst: NonZeroU32,
    /// Requests in flight, all hosts together (default 16; at most
    /// [`Limits::MAX_CONCURRENCY`]).
    pub concurrency: NonZeroUsize,
    /// Per request, connect to last byte (default 30 s; at most a day).
    pub timeout: Duration,
    /// Retries after the first attempt (default 3).
    pub retries: u32,
    /// Obey robots.txt (default true).
    pub robots: bool,
    /// The User-Agent header (default `trawl/<version>`).
    pub user_agent: String,
    /// Larger bodies are refused (default 10 MiB).
    pub max_body: u64,
    /// The longest wait a server may impose (`max_delay`, default 10 min; at
    /// most a day). A `Retry-After` or robots.txt `Crawl-delay` longer than
    /// this is not waited out: that host's pending pages fail with the
    /// reason and the crawl goes on (SPEC §10 "Waiting").
    pub max_delay: Duration,
    /// Reach loopback, private, link-local and cloud-metadata addresses
    /// (`allow_private`, default false). They are also reached when a start
    /// is on one (SPEC §10 "Private networks").
    pub allow_private: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            rate: Rate(2.0),
            burst: NonZeroU32::MIN,
            concurrency: NonZeroUsize::new(16).expect("16 is not zero"),
            timeout: Duration::from_secs(30),
            retries: 3,
            robots: true,
            user_agent: concat!("trawl/", env!("CARGO_PKG_VERSION")).to_string(),
            max_body: 10 * 1024 * 1024,
            max_delay: Duration::from_secs(600),
            allow_private: false,
        }
    }
}

type KeyError = (&'static str, String);

impl Limits {
    /// The largest `burst`: far above any polite use, small enough that a
    /// host's send log stays a few hundred KiB.
    pub const MAX_BURST: u32 = 10_000;
    /// The largest `concurrency`: beyond it the process runs out of sockets
    /// and memory long before the network is busier.
    pub const MAX_CONCURRENCY: usize = 10_000;
    /// The longest `timeout` and `max_delay`: a day, like the slowest rate,
    /// so no interval a crawl is configured with is longer.
    pub const MAX_WAIT: Duration = Duration::from_secs(86_400);

    pub(super) fn from_raw(raw: &RawLimits) -> Result<Limits, KeyError> {
        let mut limits = Limits::default();
        if let Some(rate) = raw.rate {
            limits.rate = Limits::check_rate(rate).map_err(|e| ("limits.rate", e))?;
        }
        if let Some(burst) = raw.burst {
            limits.burst = Limits::check_burst(burst).map_err(|e| ("limits.burst", e))?;
        }
        if let Some(n) = raw.concurrency {
            limits.concurrency =
                Limits::check_concurrency(n).map_err(|e| ("limits.concurrency", e))?;
        }
        if let Some(timeout) = &raw.timeout {
            limits.timeout = parse_duration(&timeout.as_text())
                .and_then(Limits::check_timeout)
                .map_err(|e| ("limits.timeout", e))?;
        }
        if let Some(retries) = raw.retries {
            limits.retries = Limits::check_retries(retries).map_err(|e| ("limits.retries", e))?;
        }
        if let Some(robots) = raw.robots {
            limits.robots = robots;
        }
        if let Some(agent) = &raw.user_agent {
            limits.user_agent =
                Limits::check_user_agent(agent).map_err(|e| ("limits.user_agent", e))?;
        }
        if let Some(size) = &raw.max_body {
            limits.max_body = parse_size(&size.as_text()).map_err(|e| ("limits.max_body", e))?;
        }
        if let Some(delay) = &raw.max_delay {
            limits.max_delay = parse_duration(&delay.as_text())
                .and_then(Limits::check_max_delay)
                .map_err(|e| ("limits.max_delay", e))?;
        }
        if let Some(allow) = raw.allow_private {
            limits.allow_private = allow;
        }
        Ok(limits)
    }

    /// `rate`: 0 (unlimited) or at least one request a day. Below that,
    /// `burst / rate` would overflow the clock.
    pub fn check_rate(per_second: f64) -> Result<Rate, String> {
        if !(per_second.is_finite() && per_second >= 0.0) {
            return Err(format!("a number ≥ 0, found {per_second}"));
        }
        if per_second != 0.0 && per_second < Rate::MIN_PER_SECOND {
            return Err(format!(
                "0 (unlimited) or at least one request a day (1/86400 ≈ 0.0000116), \
                 found {per_second}"
            ));
        }
        Ok(Rate(per_second))
    }

    /// `burst`: an integer from 1 to [`Limits::MAX_BURST`].
    pub fn check_burst(n: i64) -> Result<NonZeroU32, String> {
        u32::try_from(n)
            .ok()
            .filter(|n| *n <= Limits::MAX_BURST)
            .and_then(NonZeroU32::new)
            .ok_or(format!(
                "an integer ≥ 1 and ≤ {}, found {n}",
                Limits::MAX_BURST
            ))
    }

    /// `concurrency`: an integer from 1 to [`Limits::MAX_CONCURRENCY`].
    pub fn check_concurrency(n: i64) -> Result<NonZeroUsize, String> {
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= Limits::MAX_CONCURRENCY)
            .and_then(NonZeroUsize::new)
            .ok_or(format!(
                "an integer ≥ 1 and ≤ {}, found {n}",
                Limits::MAX_CONCURRENCY
            ))
    }

    /// `timeout`: above zero and at most a day.
    pub fn check_timeout(timeout: Duration) -> Result<Duration, String> {
        if timeout.is_zero() || timeout > Limits::MAX_WAIT {
            return Err(format!(
                "a duration above zero and at most a day (24h), found {}",
                format_duration(timeout)
            ));
        }
        Ok(timeout)
    }

    /// `max_delay`: at most a day (0 means never wait on a server's say-so).
    pub fn check_max_delay(delay: Duration) -> Result<Duration, String> {
        if delay > Limits::MAX_WAIT {
            return Err(format!(
                "a duration of at most a day (24h), found {}",
                format_duration(delay)
            ));
        }
        Ok(delay)
    }

    /// `retries`: an integer ≥ 0.
    pub fn check_retries(n: i64) -> Result<u32, String> {
        u32::try_from(n).map_err(|_| format!("an integer ≥ 0, found {n}"))
    }

    /// `user_agent`: one line of text that an HTTP header can carry.
    pub fn check_user_agent(agent: &str) -> Result<String, String> {
        if agent.trim().is_empty() || agent.chars().any(|c| c.is_control() && c != '\t') {
            return Err("a non-empty, one-line user agent without control characters".into());
        }
        Ok(agent.to_string())
    }
}

/// `10485760` → `10MiB`, in the units a spider file accepts.
fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(size, _)| bytes >= *size && bytes % size == 0)
        .map(|(size, unit)| format!("{}{unit}", bytes / size))
        .unwrap_or_else(|| format!("{bytes} bytes"))
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = match self.rate.per_second() {
            0.0 => "unlimited".to_string(),
            r => format!("{r}/s per host, burst {}", self.burst),
        };
        writeln!(f, "  rate:    {rate}")?;
        writeln!(
            f,
            "  limits:  {} in flight, timeout {:?}, {} retries, bodies up to {}",
            self.concurrency,
            self.timeout,
            self.retries,
            human_size(self.max_body)
        )?;
        let robots = if self.robots { "obeyed" } else { "ignored" };
        let private = match self.allow_private {
            true => ", private networks allowed",
            false => "",
        };
        writeln!(
            f,
            "  manners: robots.txt {robots}, user agent `{}`, server-imposed waits up to {}{private}",
            self.user_agent,
            format_duration(self.max_delay)
        )
    }
}
