//! Polite streaming (SPEC §10): when a host's rate limit holds requests
//! back, its next slot goes to the earliest request in discovery order.
//!
//! The sliding log ([`SlidingLog`](super::rate::SlidingLog)) hands out send
//! times in the order requests ask. Those times are interchangeable: which
//! request uses which changes nothing the server sees. So every request
//! waiting for a slot on one host is listed here with its turn, and the slots
//! held are dealt out again whenever one joins: the lowest turn gets the
//! earliest slot. A detail page of list page 1 that shows up after list
//! pages 2–8 took their slots is sent before them.

use std::sync::Mutex;

use tokio::sync::watch;
use tokio::time::Instant;

/// The requests waiting for one host, and the slots they hold.
#[derive(Debug)]
pub(super) struct Slots {
    waiting: Mutex<Vec<Waiter>>,
    /// Bumped whenever slots are dealt out again.
    changed: watch::Sender<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Waiter {
    id: u64,
    turn: u64,
    at: Instant,
}

impl Default for Slots {
    fn default() -> Slots {
        Slots {
            waiting: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
        }
    }
}

impl Slots {
    /// Lists request `id` (of `turn`) with the slot `at` it reserved, and
    /// deals every slot out again by turn.
    pub(super) fn join(&self, id: u64, turn: u64, at: Instant) {
        let mut waiting = self.lock();
        waiting.push(Waiter { id, turn, at });
        let mut times: Vec<Instant> = waiting.iter().map(|w| w.at).collect();
        times.sort();
        waiting.sort_by_key(|w| (w.turn, w.id));
        for (waiter, at) in waiting.iter_mut().zip(times) {
            waiter.at = at;
        }
        drop(waiting);
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The slot request `id` holds now.
    pub(super) fn slot(&self, id: u64) -> Option<Instant> {
        self.lock().iter().find(|w| w.id == id).map(|w| w.at)
    }

    /// Request `id` takes its slot if it is due at `now`, leaving the list
    /// in the same step (so no one joining can be dealt that slot as well);
    /// `false` when its slot was swapped for a later one meanwhile.
    pub(super) fn take(&self, id: u64, now: Instant) -> bool {
        let mut waiting = self.lock();
        match waiting.iter().position(|w| w.id == id) {
            Some(i) if waiting[i].at <= now => {
                waiting.remove(i);
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    /// Request `id` gives up (its future was dropped): it leaves the list. A slot given
    /// up is not handed on; the host is never asked earlier because of it.
    pub(super) fn leave(&self, id: u64) {
        self.lock().retain(|w| w.id != id);
    }

    /// A receiver that wakes when slots are dealt out again.
    pub(super) fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_lowest_turn_gets_the_earliest_slot() {
        let slots = Slots::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        // List pages 2 and 3 reserved first; then a detail page of page 1.
        slots.join(1, 2, at(250));
        slots.join(2, 3, at(500));
        slots.join(3, 1, at(750));
        assert_eq!(slots.slot(3), Some(at(250)));
        assert_eq!(slots.slot(1), Some(at(500)));
        assert_eq!(slots.slot(2), Some(at(750)));
        assert!(!slots.take(3, at(200)), "not due yet");
        assert!(slots.take(3, at(250)));
        assert_eq!(slots.slot(3), None);
        slots.leave(1);
        slots.join(4, 9, at(1000));
        assert_eq!(
            slots.slot(2),
            Some(at(750)),
            "a later turn does not move ahead"
        );
        assert_eq!(slots.slot(4), Some(at(1000)));
        slots.leave(2);
        assert_eq!(slots.slot(2), None);
    }
}
