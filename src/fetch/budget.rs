//! The read-ahead's byte budget as the network sees it (SPEC §10 "Bounds").
//!
//! The engine leases pages while the bytes it holds, and an estimate of the
//! pages still downloading, stay under its budget; but an estimate cannot
//! stop sixteen 10 MB bodies arriving at once. So every body a crawl
//! downloads takes its bytes from this budget chunk by chunk as they arrive,
//! and a chunk that would pass it waits (the socket is not read, so TCP
//! holds the server back) until pages leave the engine or downloads end.
//!
//! One page never waits: the *head*, the earliest page the engine holds,
//! and the detail pages its records wait for (by their turns; a detail page
//! shared with a later page has that page's turn, so the engine names it).
//! Everything held waits for the head, so letting it through is what keeps
//! the crawl moving; it may pass the budget by its own size, at most
//! `max_body` and its details'.
//!
//! A download held back keeps its connection and its slot of the
//! concurrency cap (a slot given up would let another request start, and the
//! server would see more at once than the cap). So when the head or one of
//! its detail pages waits for a slot, every held-back download reads on:
//! they end, free their slots, and the head gets one. The budget is then
//! passed by what those downloads still had to read, never deadlocked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::gate::Gate;
use super::CHAIN_TURN;

/// Bytes a crawl's pages may hold, shared by the engine and its fetches.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    limit: usize,
    /// What the engine holds: pages read and not yet emitted.
    held: AtomicUsize,
    /// Bodies being downloaded, as far as they have arrived.
    downloading: AtomicUsize,
    /// The turns (without [`CHAIN_TURN`]) of the head page and of the
    /// detail pages it waits for.
    head: RwLock<Vec<u64>>,
    /// The concurrency cap the downloads hold slots of.
    gate: std::sync::OnceLock<Gate>,
    changed: Arc<Notify>,
}

impl ByteBudget {
    pub(crate) fn new(limit: usize) -> ByteBudget {
        ByteBudget {
            limit,
            held: AtomicUsize::new(0),
            downloading: AtomicUsize::new(0),
            head: RwLock::new(Vec::new()),
            gate: std::sync::OnceLock::new(),
            changed: Arc::new(Notify::new()),
        }
    }

    /// The engine's count of what it holds; waiting downloads look again.
    pub(crate) fn set_held(&self, bytes: usize) {
        if self.held.swap(bytes, Ordering::AcqRel) > bytes {
            self.changed.notify_waiters();
        }
    }

    /// The earliest page held and the detail pages it waits for, by their
    /// turns; their downloads stop waiting.
    pub(crate) fn set_head(&self, turns: impl IntoIterator<Item = u64>) {
        let mut turns: Vec<u64> = turns.into_iter().map(|t| t & !CHAIN_TURN).collect();
        turns.sort_unstable();
        turns.dedup();
        let mut head = self.head.write().unwrap_or_else(|e| e.into_inner());
        if *head != turns {
            *head = turns;
            drop(head);
            self.changed.notify_waiters();
        }
    }

    /// The concurrency cap whose waiting requests the downloads make way
    /// for: each time one starts waiting, downloads held back look again.
    pub(crate) fn watch_gate(&self, gate: Gate) {
        gate.on_wait(self.changed.clone());
        let _ = self.gate.set(gate);
    }

    /// Bytes of bodies downloading now.
    pub(crate) fn downloading(&self) -> usize {
        self.downloading.load(Ordering::Acquire)
    }

    /// A download's share, empty so far; given back when dropped. Time it
    /// spends waiting is noted in `pause`, which the timeout leaves out.
    pub(crate) fn open(self: &Arc<Self>, turn: u64, pause: Arc<Pause>) -> Share {
        Share {
            budget: self.clone(),
            turn: turn & !CHAIN_TURN,
            bytes: 0,
            pause,
        }
    }

    fn fits(&self, turn: u64, bytes: usize) -> bool {
        let head = self.head.read().unwrap_or_else(|e| e.into_inner());
        if head.binary_search(&turn).is_ok() {
            return true;
        }
        let used = self
            .held
            .load(Ordering::Acquire)
            .saturating_add(self.downloading.load(Ordering::Acquire));
        if used.saturating_add(bytes) <= self.limit {
            return true;
        }
        // The head waits for a slot this download may be holding: make way.
        self.gate.get().is_some_and(|gate| {
            gate.any_waiting(|t| head.binary_search(&(t & !CHAIN_TURN)).is_ok())
        })
    }

    fn give_back(&self, bytes: usize) {
        if bytes > 0 {
            self.downloading.fetch_sub(bytes, Ordering::AcqRel);
            self.changed.notify_waiters();
        }
    }
}

/// The bytes one download has taken from the [`ByteBudget`].
#[derive(Debug)]
pub(crate) struct Share {
    budget: Arc<ByteBudget>,
    turn: u64,
    bytes: usize,
    pause: Arc<Pause>,
}

impl Share {
    /// Takes `bytes` more, waiting while they would pass the budget and
    /// this download is not the head's.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is taken until it returns.
    pub(crate) async fn take(&mut self, bytes: usize) {
        let budget = &self.budget;
        loop {
            // Registered before the check, so a change between the check and
            // the wait is not missed.
            let changed = budget.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if budget.fits(self.turn, bytes) {
                break;
            }
            let _paused = self.pause.begin();
            changed.await;
        }
        budget.downloading.fetch_add(bytes, Ordering::AcqRel);
        self.bytes += bytes;
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

/// A body's bytes, still counted in the budget after the download: a page
/// hands them on with its text, and they are given back when the engine
/// lets go of it (it counts the page itself from then on), so a body being
/// parsed is never outside the budget.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    _share: Option<Arc<Share>>,
}

impl From<Option<Share>> for Held {
    fn from(share: Option<Share>) -> Held {
        Held {
            _share: share.map(Arc::new),
        }
    }
}

/// Time a request spent held back by trawl itself (its body not read while
/// the budget was spent): the request's timeout measures the server, so it
/// leaves this out.
#[derive(Debug, Default)]
pub(crate) struct Pause {
    /// Waits that ended, and the start of the one going on.
    state: Mutex<(Duration, Option<Instant>)>,
}

impl Pause {
    /// Time paused so far, the wait going on included.
    pub(crate) fn paused(&self) -> Duration {
        let (done, since) = *self.state.lock().unwrap_or_else(|e| e.into_inner());
        done + since.map_or(Duration::ZERO, |since| since.elapsed())
    }

    fn begin(&self) -> Paused<'_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(Instant::now());
        Paused(self)
    }
}

/// A wait going on; it ends when dropped (also when the read is cancelled).
struct Paused<'a>(&'a Pause);

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = state.1.take() {
            state.0 += since.elapsed();
        }
    }
}

/// Runs `future` under `timeout`, not counting time in `pause`: `None` if
/// it did not finish in time.
pub(crate) async fn within<F: std::future::Future>(
    timeout: Duration,
    pause: &Pause,
    future: F,
) -> Option<F::Output> {
    let started = Instant::now();
    tokio::pin!(future);
    loop {
        // Pushed back by every pause; a pause going on keeps it ahead of now.
        let deadline = started + timeout + pause.paused();
        tokio::select! {
            output = &mut future => return Some(output),
            () = tokio::time::sleep_until(deadline) => {
                if Instant::now() >= started + timeout + pause.paused() {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn pending<F: std::future::Future>(future: F) -> bool {
        futures::FutureExt::now_or_never(future).is_none()
    }

    #[tokio::test]
    async fn downloads_take_bytes_until_the_budget_is_spent_then_wait() {
        let budget = Arc::new(ByteBudget::new(100));
        let mut first = budget.open(1, Arc::default());
        first.take(60).await;
        assert_eq!(budget.downloading(), 60);
        let mut second = budget.open(2, Arc::default());
        second.take(40).await;
        assert!(pending(second.take(1)), "the budget is spent");
        drop(first);
        assert_eq!(budget.downloading(), 40);
        second.take(1).await;
        assert_eq!(budget.downloading(), 41);
    }

    #[tokio::test]
    async fn held_pages_count_and_leaving_pages_wake_the_waiting() {
        let budget = Arc::new(ByteBudget::new(100));
        budget.set_held(90);
        let mut share = budget.open(3, Arc::default());
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move {
                share.take(20).await;
                budget.downloading()
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "90 held + 20 would pass 100");
        budget.set_held(10);
        let downloading = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken when pages left")
            .unwrap();
        assert_eq!(downloading, 20);
    }

    #[tokio::test]
    async fn the_head_never_waits_and_becoming_head_wakes_a_download() {
        let budget = Arc::new(ByteBudget::new(10));
        budget.set_held(10);
        budget.set_head([7 | CHAIN_TURN]);
        let mut head = budget.open(7, Arc::default());
        head.take(1000).await; // past the budget: everything waits for it
        let mut later = budget.open(8, Arc::default());
        let waiting = tokio::spawn(async move {
            later.take(5).await;
            later
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        budget.set_head([8]);
        let later = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken when it became the head")
            .unwrap();
        assert_eq!(budget.downloading(), 1005);
        drop((head, later));
        assert_eq!(budget.downloading(), 0, "every share given back");
    }

    #[tokio::test]
    async fn held_back_downloads_make_way_when_the_head_waits_for_a_slot() {
        let budget = Arc::new(ByteBudget::new(10));
        let gate = Gate::new(1);
        budget.watch_gate(gate.clone());
        budget.set_held(10);
        budget.set_head([1]);
        // A later page holds the one slot and is held back by the budget.
        let slot = gate.acquire(2).await;
        let mut later = budget.open(2, Arc::default());
        let reading = tokio::spawn(async move {
            later.take(5).await;
            drop(slot);
            later
        });
        tokio::task::yield_now().await;
        assert!(!reading.is_finished(), "held back");
        // The head asks for the slot: the later download reads on and ends.
        let head = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.acquire_for(1, 1).await })
        };
        let later = tokio::time::timeout(Duration::from_secs(5), reading)
            .await
            .expect("made way")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), head)
            .await
            .expect("the head got the slot")
            .unwrap();
        drop(later);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timeout_leaves_out_time_held_back_by_the_budget() {
        let budget = Arc::new(ByteBudget::new(10));
        budget.set_held(10);
        let pause = Arc::new(Pause::default());
        let mut share = budget.open(1, pause.clone());
        let release = {
            let budget = budget.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(50)).await;
                budget.set_held(0);
            }
        };
        // Waits 50 s for the budget, then 5 s for the server: within a 10 s
        // timeout, since the 50 s were trawl's own.
        let read = async {
            share.take(5).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        };
        let (outcome, ()) = tokio::join!(within(Duration::from_secs(10), &pause, read), release);
        assert!(outcome.is_some(), "not timed out");
        assert!(pause.paused() >= Duration::from_secs(50));
        // The server's own slowness still times out.
        let slow = tokio::time::sleep(Duration::from_secs(11));
        assert!(within(Duration::from_secs(10), &Pause::default(), slow)
            .await
            .is_none());
    }
}
