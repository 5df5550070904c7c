//! The per-host schedule: a sliding log of send times (SPEC §3).
//!
//! Token buckets and GCRA let a host see up to `2·burst − 1` requests in a
//! `burst / rate` window. The log keeps the last `burst` send times and puts
//! the next send at `oldest + burst / rate`, so any window of that length
//! holds at most `burst` sends. Slots are handed out in increasing order, so
//! the log stays sorted whatever the concurrency. Time is a parameter: the
//! tests run it on a fake clock.
//!
//! Every instant here is computed with [`later`], which cannot overflow: a
//! gap or pause comes from a server (Crawl-delay, Retry-After) and is only
//! ever trusted up to a cap.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Duration;

use tokio::time::Instant;

use crate::spider::Rate;

/// When one host may be asked next.
#[derive(Debug, Clone)]
pub(super) struct SlidingLog {
    /// `burst / rate`; `None` when the rate is unlimited.
    window: Option<Duration>,
    burst: usize,
    sent: VecDeque<Instant>,
    last: Option<Instant>,
    /// Minimum time between two sends (robots.txt Crawl-delay).
    gap: Duration,
    paused_until: Option<Instant>,
}

impl SlidingLog {
    /// A schedule allowing `burst` sends per `burst / rate` window.
    pub(super) fn new(rate: Rate, burst: NonZeroU32) -> SlidingLog {
        let burst = burst.get() as usize;
        let window = (rate.per_second() > 0.0).then(|| {
            Duration::try_from_secs_f64(burst as f64 / rate.per_second()).unwrap_or(Duration::MAX)
        });
        SlidingLog {
            window,
            burst,
            // The log grows with the sends; a huge burst allocates nothing up front.
            sent: VecDeque::with_capacity(burst.min(64)),
            last: None,
            gap: Duration::ZERO,
            paused_until: None,
        }
    }

    /// Reserves the earliest send time at or after `now` and records it.
    pub(super) fn reserve(&mut self, now: Instant) -> Instant {
        let mut at = now.max(self.last.unwrap_or(now));
        if let Some(last) = self.last {
            at = at.max(later(last, self.gap));
        }
        if let Some(until) = self.paused_until {
            at = at.max(until);
        }
        if let Some(window) = self.window {
            if self.sent.len() == self.burst {
                let oldest = self
                    .sent
                    .pop_front()
                    .expect("a full log has an oldest entry");
                at = at.max(later(oldest, window));
            }
            self.sent.push_back(at);
        }
        self.last = Some(at);
        at
    }

    /// Holds every send back until `until` (Retry-After); never shortens a pause.
    pub(super) fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Whether a send at `at` would fall inside a pause set after it was reserved.
    pub(super) fn is_paused_at(&self, at: Instant) -> bool {
        self.paused_until.is_some_and(|until| at < until)
    }

    /// Sets the minimum time between two sends (robots.txt Crawl-delay).
    pub(super) fn set_gap(&mut self, gap: Duration) {
        self.gap = gap;
    }
}

/// The longest wait [`later`] adds: a century, past the end of any crawl,
/// yet small enough that no monotonic clock overflows when it is added.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `at + wait`, total: waits beyond [`FOREVER`] count as `FOREVER`.
pub(super) fn later(at: Instant, wait: Duration) -> Instant {
    // `checked_add` of a century cannot fail on a real clock; the fallback
    // only keeps this function free of panics.
    at.checked_add(wait.min(FOREVER)).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(rate: f64, burst: u32) -> SlidingLog {
        SlidingLog::new(Rate::new(rate).unwrap(), NonZeroU32::new(burst).unwrap())
    }

    /// The most sends in any half-open window of length `window`.
    fn max_in_window(times: &[Instant], window: Duration) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn never_more_than_burst_per_window() {
        for (rate, burst) in [(2.0, 1), (10.0, 5), (3.0, 4), (100.0, 2)] {
            let mut log = log(rate, burst);
            let start = Instant::now();
            // 200 callers asking at once, then a few more stragglers later.
            let mut times: Vec<_> = (0..200).map(|_| log.reserve(start)).collect();
            times.extend((0..20).map(|i| log.reserve(start + Duration::from_millis(i * 7))));
            let window = Duration::from_secs_f64(burst as f64 / rate);
            assert!(
                max_in_window(&times, window) <= burst as usize,
                "rate {rate} burst {burst}"
            );
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "slots are handed out in order"
            );
        }
    }

    #[test]
    fn a_burst_goes_out_at_once_then_waits_a_window() {
        let mut log = log(10.0, 5);
        let t0 = Instant::now();
        let times: Vec<_> = (0..10).map(|_| log.reserve(t0)).collect();
        assert!(times[..5].iter().all(|t| *t == t0));
        assert!(times[5..]
            .iter()
            .all(|t| *t == t0 + Duration::from_millis(500)));
    }

    #[test]
    fn unlimited_rate_never_waits() {
        let mut log = SlidingLog::new(Rate::UNLIMITED, NonZeroU32::MIN);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| log.reserve(t0) == t0));
    }

    #[test]
    fn absurd_gaps_pauses_and_bursts_do_not_overflow() {
        let t0 = Instant::now();
        assert_eq!(later(t0, Duration::MAX), later(t0, FOREVER));
        assert!(later(t0, Duration::MAX) > t0 + Duration::from_secs(86_400 * 365 * 99));
        let slowest = Rate::new(Rate::MIN_PER_SECOND).unwrap();
        let mut log = SlidingLog::new(slowest, NonZeroU32::MAX);
        log.set_gap(Duration::MAX);
        log.pause_until(later(t0, Duration::MAX));
        let first = log.reserve(t0);
        assert!(log.reserve(first) > first);
        assert!(log.is_paused_at(t0));
    }

    #[test]
    fn pause_and_gap_hold_sends_back() {
        let mut log = SlidingLog::new(Rate::UNLIMITED, NonZeroU32::MIN);
        let t0 = Instant::now();
        log.pause_until(t0 + Duration::from_secs(3));
        log.pause_until(t0 + Duration::from_secs(1));
        assert_eq!(log.reserve(t0), t0 + Duration::from_secs(3));
        assert!(log.is_paused_at(t0 + Duration::from_secs(2)));
        log.set_gap(Duration::from_secs(2));
        assert_eq!(log.reserve(t0), t0 + Duration::from_secs(5));
        assert_eq!(
            log.reserve(t0 + Duration::from_secs(9)),
            t0 + Duration::from_secs(9)
        );
    }
}
