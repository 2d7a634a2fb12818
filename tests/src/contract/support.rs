//! Helpers the contract checks share: creating workers, reading streams with deadlines, matching errors.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{
    ApiError, CreateWorkerRequest, ErrorCode, Event, EventBody, FrameStream, RuntimeSource, Snapshot, StreamFrame,
    SubscribeRequest, TranscriptEntry, TranscriptQuery, WorkerId,
};

/// How long any single wait may take; generous, for slow CI machines.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

pub(crate) type Source = Arc<dyn RuntimeSource>;

/// Creates a worker with `profile`.
pub(crate) async fn new_worker(source: &Source, profile: &str) -> WorkerId {
    let request = CreateWorkerRequest { profile: Some(profile.to_owned()), ..Default::default() };
    source.create(request).await.expect("create").summary.worker_id
}

/// The error of a call that must fail, checked against `code`.
pub(crate) async fn expect_error<T: std::fmt::Debug>(
    call: impl Future<Output = Result<T, ApiError>>,
    code: ErrorCode,
) -> ApiError {
    match call.await {
        Ok(value) => panic!("expected {code}, got success: {value:?}"),
        Err(error) => {
            assert_eq!(error.code, code, "unexpected error: {error}");
            error
        }
    }
}

/// Every transcript entry, read page by page.
pub(crate) async fn transcript(source: &Source, worker_id: &WorkerId) -> Vec<TranscriptEntry> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let page = source.transcript(worker_id, TranscriptQuery { after, limit: None }).await.expect("transcript");
        entries.extend(page.entries);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return entries,
        }
    }
}

/// An open subscription whose snapshot has been read.
pub(crate) struct Frames {
    pub(crate) snapshot: Snapshot,
    stream: FrameStream,
}

/// Subscribes and reads the snapshot, which must come first.
pub(crate) async fn subscribe(source: &Source, worker_id: Option<&WorkerId>, after: Option<u64>) -> Frames {
    let request = SubscribeRequest { after, worker_id: worker_id.cloned() };
    let mut stream = source.subscribe(request).await.expect("subscribe");
    match next_frame(&mut stream).await {
        Some(StreamFrame::Snapshot(snapshot)) => Frames { snapshot, stream },
        other => panic!("a subscription must open with a snapshot, got {other:?}"),
    }
}

async fn next_frame(stream: &mut FrameStream) -> Option<StreamFrame> {
    tokio::time::timeout(WAIT, stream.next()).await.expect("no frame within the deadline")
}

impl Frames {
    /// The next frame of any type.
    pub(crate) async fn next(&mut self) -> StreamFrame {
        next_frame(&mut self.stream).await.expect("the stream ended")
    }

    /// The next event, skipping heartbeats; any other frame fails the check.
    pub(crate) async fn next_event(&mut self) -> Event {
        loop {
            match self.next().await {
                StreamFrame::Event { event } => return event,
                StreamFrame::Heartbeat { .. } => {}
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// Events up to and including the first that matches `done`.
    pub(crate) async fn events_until(&mut self, done: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let event = self.next_event().await;
            let last = done(&event);
            events.push(event);
            if last {
                return events;
            }
        }
    }

    /// Events that arrive within `window`, skipping heartbeats.
    pub(crate) async fn events_within(&mut self, window: Duration) -> Vec<Event> {
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(frame) = tokio::time::timeout_at(deadline, self.stream.next()).await {
            match frame {
                Some(StreamFrame::Event { event }) => events.push(event),
                Some(StreamFrame::Heartbeat { .. }) => {}
                other => panic!("expected events, got {other:?}"),
            }
        }
        events
    }
}

/// Whether `event` completes `turn_id` of `worker_id`.
pub(crate) fn completes(event: &Event, worker_id: &WorkerId, turn_id: u64) -> bool {
    &event.worker_id == worker_id && matches!(event.body, EventBody::TurnCompleted { turn_id: t, .. } if t == turn_id)
}

/// The concatenated deltas of `turn_id` among `events`.
pub(crate) fn deltas(events: &[Event], turn_id: u64) -> String {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::TurnDelta { turn_id: t, delta } if *t == turn_id => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

/// Event kinds, for readable assertions.
pub(crate) fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().filter(|e| e.is_durable()).map(|e| e.body.kind()).collect()
}

/// An input long enough to keep a `slow` worker busy for seconds.
pub(crate) const LONG_INPUT: &str = "one two three four five six seven eight nine ten eleven twelve";
