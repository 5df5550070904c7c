//! Rate, concurrency, timeouts and manners: `[limits]`, each value valid by type.

use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use super::raw::RawLimits;
use super::values::{parse_duration, parse_size};

/// Requests per second per host; zero means unlimited. Never negative or NaN.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// No limit.
    pub const UNLIMITED: Rate = Rate(0.0);

    /// A rate, if `per_second` is finite and ≥ 0.
    pub fn new(per_second: f64) -> Option<Rate> {
        (per_second.is_finite() && per_second >= 0.0).then_some(Rate(per_second))
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
    /// Requests a host may receive back to back (default 1).
    pub burst: NonZeroU32,
    /// Requests in flight, all hosts together (default 16).
    pub concurrency: NonZeroUsize,
    /// Per request, connect to last byte (default 30 s).
    pub timeout: Duration,
    /// Retries after the first attempt (default 3).
    pub retries: u32,
    /// Obey robots.txt (default true).
    pub robots: bool,
    /// The User-Agent header (default `trawl/<version>`).
    pub user_agent: String,
    /// Larger bodies are refused (default 10 MiB).
    pub max_body: u64,
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
        }
    }
}

type KeyError = (&'static str, String);

impl Limits {
    pub(super) fn from_raw(raw: &RawLimits) -> Result<Limits, KeyError> {
        let mut limits = Limits::default();
        if let Some(rate) = raw.rate {
            limits.rate =
                Rate::new(rate).ok_or(("limits.rate", format!("a number ≥ 0, found {rate}")))?;
        }
        if let Some(burst) = raw.burst {
            limits.burst = positive(burst)
                .ok_or(("limits.burst", format!("an integer ≥ 1, found {burst}")))?;
        }
        if let Some(n) = raw.concurrency {
            let n =
                positive(n).ok_or(("limits.concurrency", format!("an integer ≥ 1, found {n}")))?;
            limits.concurrency = NonZeroUsize::try_from(n)
                .map_err(|_| ("limits.concurrency", "an integer ≥ 1".into()))?;
        }
        if let Some(timeout) = &raw.timeout {
            limits.timeout =
                parse_duration(&timeout.as_text()).map_err(|e| ("limits.timeout", e))?;
            if limits.timeout.is_zero() {
                return Err(("limits.timeout", "a duration above zero".into()));
            }
        }
        if let Some(retries) = raw.retries {
            limits.retries = u32::try_from(retries)
                .map_err(|_| ("limits.retries", format!("an integer ≥ 0, found {retries}")))?;
        }
        if let Some(robots) = raw.robots {
            limits.robots = robots;
        }
        if let Some(agent) = &raw.user_agent {
            if agent.trim().is_empty() || agent.contains(['\r', '\n']) {
                return Err((
                    "limits.user_agent",
                    "a non-empty, one-line user agent".into(),
                ));
            }
            limits.user_agent = agent.clone();
        }
        if let Some(size) = &raw.max_body {
            limits.max_body = parse_size(&size.as_text()).map_err(|e| ("limits.max_body", e))?;
        }
        Ok(limits)
    }
}

fn positive(n: i64) -> Option<NonZeroU32> {
    u32::try_from(n).ok().and_then(NonZeroU32::new)
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
        writeln!(
            f,
            "  manners: robots.txt {robots}, user agent `{}`",
            self.user_agent
        )
    }
}
