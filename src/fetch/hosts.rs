//! Per-host politeness state: the send schedule, Retry-After pauses, robots
//! rules, and whether the host asked for more patience than `max_delay`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{watch, OnceCell};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::rate::{later, SlidingLog};
use super::robots::Robots;
use super::slots::Slots;
use crate::spider::{format_duration, Rate};

/// The key politeness is kept under: scheme + host + port (SPEC §5).
pub(super) fn host_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// One host's schedule and robots rules.
#[derive(Debug)]
pub(super) struct Host {
    schedule: Mutex<SlidingLog>,
    /// Fetched once, by the first request to the host; others wait for it.
    pub robots: OnceCell<Robots>,
    /// The robots.txt page itself, when it was read: a crawl that starts at
    /// robots.txt (for its `Sitemap:` lines) gets it without a second fetch.
    pub robots_page: OnceLock<super::Page>,
    /// Why the host is skipped, once it is (SPEC §10 "Waiting").
    skipped: OnceLock<String>,
    /// Cancelled when the host is skipped, waking every request waiting for it.
    on_skip: CancellationToken,
    /// Requests waiting for a slot, by turn (polite streaming, `slots.rs`).
    slots: Slots,
    next_waiter: AtomicU64,
}

impl Host {
    fn new(schedule: SlidingLog) -> Host {
        Host {
            schedule: Mutex::new(schedule),
            robots: OnceCell::new(),
            robots_page: OnceLock::new(),
            skipped: OnceLock::new(),
            on_skip: CancellationToken::new(),
            slots: Slots::default(),
            next_waiter: AtomicU64::new(0),
        }
    }

    /// Waits until this host may receive one more request; the error is the
    /// reason the host was skipped, before or during the wait.
    ///
    /// # Cancel safety
    /// Dropping the future gives up the slot; the host is never asked earlier
    /// because of it.
    pub(super) async fn wait_turn(&self, turn: u64) -> Result<(), String> {
        loop {
            self.check()?;
            let id = self.next_waiter.fetch_add(1, Ordering::Relaxed);
            let at = self.lock().reserve(Instant::now());
            let mut changed = self.slots.watch();
            self.slots.join(id, turn, at);
            // Dropped (cancelled) or done, the request leaves the list.
            let _leave = Leave(&self.slots, id);
            self.wait_slot(id, &mut changed).await?;
            // A Retry-After that arrived while we slept holds this send too.
            if !self.lock().is_paused_at(Instant::now()) {
                return Ok(());
            }
        }
    }

    /// Sleeps until the slot request `id` holds, which an earlier request
    /// joining may swap for a later one.
    async fn wait_slot(&self, id: u64, changed: &mut watch::Receiver<u64>) -> Result<(), String> {
        loop {
            let Some(at) = self.slots.slot(id) else {
                return Ok(());
            };
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {
                    if self.slots.take(id, Instant::now()) {
                        return self.check();
                    }
                }
                _ = self.on_skip.cancelled() => return self.check(),
                _ = changed.changed() => {}
            }
        }
    }

    /// Holds this host back for `delay` (Retry-After).
    pub(super) fn pause_for(&self, delay: Duration) {
        self.lock().pause_until(later(Instant::now(), delay));
    }

    /// Takes a wait the host asked for (`what`: Retry-After, Crawl-delay) if
    /// it is at most `max` (`max_delay`); a longer one skips the host instead
    /// of stalling the crawl (SPEC §10 "Waiting"), and the error says why.
    pub(super) fn accept_wait(
        &self,
        what: &str,
        wait: Duration,
        max: Duration,
    ) -> Result<(), String> {
        if wait <= max {
            return Ok(());
        }
        self.skip(too_long(what, wait, max));
        self.check()
    }

    /// Gives up on this host: its pending and future requests fail with
    /// `reason`. The first reason given is kept.
    pub(super) fn skip(&self, reason: String) {
        let _ = self.skipped.set(reason);
        self.on_skip.cancel();
    }

    /// The reason this host is skipped, as an error, if it is.
    pub(super) fn check(&self) -> Result<(), String> {
        match self.skipped.get() {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    /// Sets the minimum gap between two requests (Crawl-delay).
    pub(super) fn set_gap(&self, gap: Duration) {
        self.lock().set_gap(gap);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlidingLog> {
        // The schedule holds no invariant a panic could break halfway.
        self.schedule
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Takes a waiting request off a host's list however its wait ends.
struct Leave<'a>(&'a Slots, u64);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.leave(self.1);
    }
}

/// `Retry-After of 99999999 s exceeds max_delay (10m); host skipped`.
fn too_long(what: &str, wait: Duration, max: Duration) -> String {
    // Fractions matter only for short waits (`max_delay = 0`).
    let seconds = if wait.subsec_nanos() == 0 || wait.as_secs() >= 60 {
        wait.as_secs().to_string()
    } else {
        format!("{:.3}", wait.as_secs_f64())
    };
    format!(
        "{what} of {seconds} s exceeds max_delay ({}); host skipped",
        format_duration(max)
    )
}

/// Every host this crawl has talked to.
#[derive(Debug)]
pub(super) struct Hosts {
    rate: Rate,
    burst: NonZeroU32,
    map: Mutex<HashMap<String, Arc<Host>>>,
}

impl Hosts {
    /// A registry giving each host its own `rate` and `burst` budget.
    pub(super) fn new(rate: Rate, burst: NonZeroU32) -> Hosts {
        Hosts {
            rate,
            burst,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The state of `url`'s host, created on first use.
    pub(super) fn get(&self, url: &Url) -> Arc<Host> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(host_key(url))
            .or_insert_with(|| Arc::new(Host::new(SlidingLog::new(self.rate, self.burst))))
            .clone()
    }

    /// The configured per-host rate.
    pub(super) fn rate(&self) -> Rate {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scheme_host_port() {
        let key = |s: &str| host_key(&Url::parse(s).unwrap());
        assert_eq!(key("http://Example.COM/a"), "http://example.com:80");
        assert_eq!(key("http://example.com:80/b"), "http://example.com:80");
        assert_eq!(key("https://example.com/"), "https://example.com:443");
        assert_ne!(key("http://127.0.0.1:8000/"), key("http://127.0.0.2:8000/"));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_a_reserved_send() {
        let hosts = Hosts::new(Rate::new(1.0).unwrap(), NonZeroU32::MIN);
        let host = hosts.get(&Url::parse("http://h.test/").unwrap());
        let t0 = Instant::now();
        host.wait_turn(0).await.unwrap();
        let waiter = tokio::spawn({
            let host = host.clone();
            async move {
                host.wait_turn(0).await.unwrap();
                Instant::now()
            }
        });
        tokio::task::yield_now().await;
        host.pause_for(Duration::from_secs(10));
        let sent = waiter.await.unwrap();
        assert!(
            sent >= t0 + Duration::from_secs(10),
            "sent {:?} after start",
            sent - t0
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_skip_wakes_waiting_requests_and_fails_later_ones() {
        let hosts = Hosts::new(Rate::new(Rate::MIN_PER_SECOND).unwrap(), NonZeroU32::MIN);
        let host = hosts.get(&Url::parse("http://h.test/").unwrap());
        host.wait_turn(0).await.unwrap();
        // The next slot is a day away; the skip must not wait for it.
        let waiter = tokio::spawn({
            let host = host.clone();
            async move { (host.wait_turn(0).await, Instant::now()) }
        });
        tokio::task::yield_now().await;
        let t0 = Instant::now();
        host.skip("too slow; host skipped".into());
        host.skip("a later reason".into());
        let (result, at) = waiter.await.unwrap();
        assert_eq!(result, Err("too slow; host skipped".to_string()));
        assert_eq!(at, t0);
        assert_eq!(
            host.wait_turn(0).await,
            Err("too slow; host skipped".into())
        );
    }

    #[test]
    fn a_wait_longer_than_max_delay_skips_the_host_and_says_why() {
        let hosts = Hosts::new(Rate::UNLIMITED, NonZeroU32::MIN);
        let host = hosts.get(&Url::parse("http://h.test/").unwrap());
        let ten_minutes = Duration::from_secs(600);
        assert_eq!(
            host.accept_wait("Retry-After", ten_minutes, ten_minutes),
            Ok(())
        );
        assert_eq!(host.check(), Ok(()));
        let refused = host.accept_wait("Retry-After", Duration::from_secs(99_999_999), ten_minutes);
        let reason = "Retry-After of 99999999 s exceeds max_delay (10m); host skipped";
        assert_eq!(refused, Err(reason.to_string()));
        assert_eq!(host.check(), Err(reason.to_string()));
        assert_eq!(
            too_long("Crawl-delay", Duration::from_millis(1500), Duration::ZERO),
            "Crawl-delay of 1.500 s exceeds max_delay (0s); host skipped"
        );
        assert!(
            too_long("Crawl-delay", Duration::MAX, ten_minutes).contains("18446744073709551615 s")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_absurd_pause_does_not_overflow() {
        let hosts = Hosts::new(Rate::UNLIMITED, NonZeroU32::MIN);
        let host = hosts.get(&Url::parse("http://h.test/").unwrap());
        host.pause_for(Duration::MAX);
        host.pause_for(Duration::from_secs(u64::MAX));
        assert!(host
            .lock()
            .is_paused_at(Instant::now() + Duration::from_secs(86_400 * 365)));
    }
}
