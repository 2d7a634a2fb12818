//! Publication side of the event log: the retention window and the live broadcast.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use runtime_api::{ApiError, Event};
use tokio::sync::broadcast;

/// Published events: the last `retention` durable ones for replay, and a broadcast for live subscribers.
///
/// The broadcast never waits for a receiver; one that falls more than `live_buffer` events behind is told
/// it lagged and catches up from the retention window instead.
pub(crate) struct Feed {
    state: Mutex<FeedState>,
    live: broadcast::Sender<Arc<Event>>,
    retention: usize,
}

struct FeedState {
    retained: VecDeque<Arc<Event>>,
    evicted_through: u64,
    last_published: u64,
}

/// A subscriber's starting point: what to replay and where live delivery picks up.
pub(crate) struct Attachment {
    /// Retained durable events after the requested cursor, in order.
    pub(crate) replay: VecDeque<Arc<Event>>,
    /// Every event published after the attachment.
    pub(crate) live: broadcast::Receiver<Arc<Event>>,
}

impl Feed {
    pub(crate) fn new(
        retention: usize,
        live_buffer: usize,
        retained: Vec<Event>,
        evicted_through: u64,
        last_published: u64,
    ) -> Self {
        let retention = retention.max(1);
        let mut retained: VecDeque<Arc<Event>> = retained.into_iter().map(Arc::new).collect();
        let mut evicted_through = evicted_through;
        while retained.len() > retention {
            if let Some(e) = retained.pop_front() {
                evicted_through = e.seq;
            }
        }
        let (live, _) = broadcast::channel(live_buffer.max(1));
        Feed { state: Mutex::new(FeedState { retained, evicted_through, last_published }), live, retention }
    }

    /// Makes events visible to subscribers, in the order given.
    pub(crate) fn publish(&self, events: &[Arc<Event>]) {
        let mut state = self.state.lock();
        for event in events {
            state.last_published = event.seq;
            if event.is_durable() {
                state.retained.push_back(event.clone());
                if state.retained.len() > self.retention
                    && let Some(old) = state.retained.pop_front()
                {
                    state.evicted_through = old.seq;
                }
            }
            // An error only means nobody is listening.
            let _ = self.live.send(event.clone());
        }
    }

    /// Attaches a subscriber that has seen everything up to `after`.
    ///
    /// A cursor supplied by a client is also checked against `newest`, the newest seq handed out: a cursor
    /// ahead of it comes from another log and must not resume silently at the wrong place.
    pub(crate) fn attach(&self, after: Option<u64>, newest: Option<u64>) -> Result<Attachment, ApiError> {
        let state = self.state.lock();
        let mut replay = VecDeque::new();
        if let Some(after) = after {
            if after < state.evicted_through || newest.is_some_and(|newest| after > newest) {
                return Err(ApiError::cursor_expired(after, state.evicted_through));
            }
            let start = state.retained.partition_point(|e| e.seq <= after);
            replay.extend(state.retained.range(start..).cloned());
        }
        Ok(Attachment { replay, live: self.live.subscribe() })
    }

    /// The newest seq published.
    pub(crate) fn last_published(&self) -> u64 {
        self.state.lock().last_published
    }

    /// How many subscribers are attached.
    pub(crate) fn subscribers(&self) -> usize {
        self.live.receiver_count()
    }
}
