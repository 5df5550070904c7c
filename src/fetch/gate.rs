//! The global concurrency cap, handing free slots to the earliest page first.
//!
//! A plain semaphore serves waiters in arrival order, so list pages fetched
//! ahead would keep the first page's detail pages waiting, and with them the
//! first records. Here each request carries a priority — its list page's
//! position in the crawl — and a freed permit goes to the lowest priority
//! waiting (arrival order among equals), so records leave as early as the
//! cap allows.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Notify};

/// At most `n` permits out at once, granted by priority.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    available: usize,
    waiting: BinaryHeap<Waiter>,
    tickets: u64,
    /// Told whenever a request starts waiting (the byte budget's downloads
    /// make way for some, `budget.rs`).
    on_wait: Option<Arc<Notify>>,
}

#[derive(Debug)]
struct Waiter {
    priority: u64,
    /// The request's turn, for [`Gate::any_waiting`].
    turn: u64,
    ticket: u64,
    grant: oneshot::Sender<Permit>,
}

/// One slot of the cap; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Permit {
    gate: Option<Gate>,
}

impl Gate {
    /// A gate with `permits` slots.
    pub(crate) fn new(permits: usize) -> Gate {
        Gate {
            inner: Arc::new(Mutex::new(State {
                available: permits,
                waiting: BinaryHeap::new(),
                tickets: 0,
                on_wait: None,
            })),
        }
    }

    /// Waits for a slot; lower `priority` values are served first.
    ///
    /// # Cancel safety
    /// Dropping the future gives up the place in line; a permit granted in
    /// the meantime is dropped with the channel and so passed on.
    #[cfg(test)]
    pub(crate) async fn acquire(&self, priority: u64) -> Permit {
        self.acquire_for(priority, priority).await
    }

    /// `notify` is told each time a request starts waiting for a slot.
    pub(crate) fn on_wait(&self, notify: Arc<Notify>) {
        self.lock().on_wait = Some(notify);
    }

    /// [`acquire`](Gate::acquire) for the request of `turn`.
    pub(crate) async fn acquire_for(&self, priority: u64, turn: u64) -> Permit {
        let receiver = {
            let mut state = self.lock();
            if state.available > 0 && state.waiting.is_empty() {
                state.available -= 1;
                return Permit {
                    gate: Some(self.clone()),
                };
            }
            let (grant, receiver) = oneshot::channel();
            state.tickets += 1;
            let ticket = state.tickets;
            state.waiting.push(Waiter {
                priority,
                turn,
                ticket,
                grant,
            });
            if let Some(notify) = &state.on_wait {
                notify.notify_waiters();
            }
            receiver
        };
        receiver
            .await
            .expect("a waiter's sender lives in the gate until it grants")
    }

    /// Whether a request still waiting for a slot has a turn `wanted` picks.
    pub(crate) fn any_waiting(&self, wanted: impl Fn(u64) -> bool) -> bool {
        let state = self.lock();
        state
            .waiting
            .iter()
            .any(|w| !w.grant.is_closed() && wanted(w.turn))
    }

    fn release(&self) {
        let mut state = self.lock();
        while let Some(waiter) = state.waiting.pop() {
            let permit = Permit {
                gate: Some(self.clone()),
            };
            match waiter.grant.send(permit) {
                Ok(()) => return,
                // The waiter gave up: keep the slot for the next one, without
                // letting this permit's drop release it a second time.
                Err(mut permit) => permit.gate = None,
            }
        }
        state.available += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.release();
        }
    }
}

impl Ord for Waiter {
    fn cmp(&self, other: &Waiter) -> Ordering {
        // BinaryHeap pops the greatest: invert, so low priority and early ticket win.
        (other.priority, other.ticket).cmp(&(self.priority, self.ticket))
    }
}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Waiter) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Waiter) -> bool {
        (self.priority, self.ticket) == (other.priority, other.ticket)
    }
}

impl Eq for Waiter {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn grants_by_priority_then_arrival() {
        let gate = Gate::new(1);
        let first = gate.acquire(5).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("late-page", 7),
            ("page-2a", 2),
            ("page-2b", 2),
            ("page-1", 1),
        ] {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire(priority).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        while gate.lock().waiting.len() < 4 {
            tokio::task::yield_now().await;
        }
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["page-1", "page-2a", "page-2b", "late-page"]
        );
        assert_eq!(gate.lock().available, 1, "every permit came back");
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_no_permit() {
        let gate = Gate::new(1);
        let held = gate.acquire(0).await;
        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(10), gate.acquire(0)).await;
        assert!(gave_up.is_err());
        drop(held);
        let _again = gate.acquire(0).await;
        assert_eq!(gate.lock().available, 0);
        drop(_again);
        assert_eq!(gate.lock().available, 1);
    }
}
