//! Per-host politeness state: the send schedule, Retry-After pauses, robots rules.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

use super::rate::SlidingLog;
use super::robots::Robots;
use crate::spider::Rate;

/// The key politeness is kept under: scheme + host + port (SPEC §5).
pub fn host_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// One host's schedule and robots rules.
#[derive(Debug)]
pub struct Host {
    schedule: Mutex<SlidingLog>,
    /// Fetched once, by the first request to the host; others wait for it.
    pub robots: OnceCell<Robots>,
}

impl Host {
    /// Waits until this host may receive one more request.
    ///
    /// # Cancel safety
    /// Dropping the future gives up the slot; the host is never asked earlier
    /// because of it.
    pub async fn wait_turn(&self) {
        loop {
            let at = self.lock().reserve(Instant::now());
            tokio::time::sleep_until(at).await;
            // A Retry-After that arrived while we slept holds this send too.
            if !self.lock().is_paused_at(Instant::now()) {
                return;
            }
        }
    }

    /// Holds this host back for `delay` (Retry-After).
    pub fn pause_for(&self, delay: Duration) {
        self.lock().pause_until(Instant::now() + delay);
    }

    /// Sets the minimum gap between two requests (Crawl-delay).
    pub fn set_gap(&self, gap: Duration) {
        self.lock().set_gap(gap);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlidingLog> {
        // The schedule holds no invariant a panic could break halfway.
        self.schedule
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Every host this crawl has talked to.
#[derive(Debug)]
pub struct Hosts {
    rate: Rate,
    burst: NonZeroU32,
    map: Mutex<HashMap<String, Arc<Host>>>,
}

impl Hosts {
    /// A registry giving each host its own `rate` and `burst` budget.
    pub fn new(rate: Rate, burst: NonZeroU32) -> Hosts {
        Hosts {
            rate,
            burst,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The state of `url`'s host, created on first use.
    pub fn get(&self, url: &Url) -> Arc<Host> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(host_key(url))
            .or_insert_with(|| {
                Arc::new(Host {
                    schedule: Mutex::new(SlidingLog::new(self.rate, self.burst)),
                    robots: OnceCell::new(),
                })
            })
            .clone()
    }

    /// The configured per-host rate.
    pub fn rate(&self) -> Rate {
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
        host.wait_turn().await;
        let waiter = tokio::spawn({
            let host = host.clone();
            async move {
                host.wait_turn().await;
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
}
