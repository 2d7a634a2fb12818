//! Bulkhead: a bound on concurrent calls per source.
//!
//! Entered inside the deadline, so a call waiting for a slot gives up at its deadline; a slow or hung source
//! then holds at most this many calls, and never the backend's whole capacity.

use tokio::sync::{Semaphore, SemaphorePermit};

/// Bounds the calls in progress on one source.
#[derive(Debug)]
pub struct Bulkhead {
    slots: Semaphore,
}

impl Bulkhead {
    /// At most `max_in_flight` calls at once.
    pub fn new(max_in_flight: usize) -> Self {
        Bulkhead { slots: Semaphore::new(max_in_flight.max(1)) }
    }

    /// Waits for a slot; the call holds it until the permit is dropped.
    pub async fn enter(&self) -> SemaphorePermit<'_> {
        self.slots.acquire().await.expect("the semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_bound_run_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let bulkhead = Bulkhead::new(3);
        let calls = (0..10).map(|_| async {
            let _slot = bulkhead.enter().await;
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            running.fetch_sub(1, Ordering::SeqCst);
        });
        futures::future::join_all(calls).await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
