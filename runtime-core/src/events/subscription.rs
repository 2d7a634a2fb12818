//! One subscriber's stream: snapshot, replay, live events, heartbeats, lag recovery and close.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{CloseReason, Event, FrameStream, StreamFrame, Timestamp, WorkerId};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Feed;
use super::feed::Attachment;
use crate::store::Durable;

/// The state of one subscription, turned into a [`FrameStream`] by [`Subscription::into_stream`].
pub(crate) struct Subscription {
    feed: Arc<Feed>,
    worker: Option<WorkerId>,
    /// Frames to send before anything else: the snapshot, or a lag notice and what follows it.
    queued: VecDeque<StreamFrame>,
    /// Resolves once everything the snapshot reflects is durable; the snapshot waits for it, so no
    /// subscriber is shown a state that a crash could take back.
    snapshot_durable: Option<Durable>,
    replay: VecDeque<Arc<Event>>,
    live: tokio::sync::broadcast::Receiver<Arc<Event>>,
    /// Every event up to here was delivered, filtered out, or is reflected in the snapshot.
    cursor: u64,
    heartbeat: Duration,
    next_heartbeat: Instant,
    shutdown: CancellationToken,
    finished: bool,
}

impl Subscription {
    /// A subscription that starts with `snapshot` once `snapshot_durable` resolves, then replays
    /// `attachment`, then follows live events after `cursor`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        feed: Arc<Feed>,
        worker: Option<WorkerId>,
        snapshot: StreamFrame,
        snapshot_durable: Durable,
        attachment: Attachment,
        cursor: u64,
        heartbeat: Duration,
        shutdown: CancellationToken,
    ) -> Self {
        Subscription {
            feed,
            worker,
            queued: VecDeque::from([snapshot]),
            snapshot_durable: Some(snapshot_durable),
            replay: attachment.replay,
            live: attachment.live,
            cursor,
            heartbeat,
            next_heartbeat: Instant::now() + heartbeat,
            shutdown,
            finished: false,
        }
    }

    /// The subscription as a boxed stream that ends after its `closed` frame (and stays ended when polled
    /// again, as forwarders sometimes do).
    pub(crate) fn into_stream(self) -> FrameStream {
        let frames = futures::stream::unfold(self, |mut sub| async move {
            let frame = sub.next_frame().await?;
            Some((frame, sub))
        });
        Box::pin(frames.fuse())
    }

    async fn next_frame(&mut self) -> Option<StreamFrame> {
        if self.finished {
            return None;
        }
        if let Some(durable) = self.snapshot_durable.take()
            && durable.wait().await.is_err()
        {
            return Some(self.close(CloseReason::SourceFailed, "the runtime's store is failing"));
        }
        if let Some(frame) = self.queued.pop_front() {
            self.finished = matches!(frame, StreamFrame::Closed { .. });
            return Some(self.sent(frame));
        }
        while let Some(event) = self.replay.pop_front() {
            if let Some(frame) = self.deliver(event) {
                return Some(self.sent(frame));
            }
        }
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Some(self.close(CloseReason::Shutdown, "the runtime is shutting down")),
                received = self.live.recv() => match received {
                    Ok(event) => {
                        if let Some(frame) = self.deliver(event) {
                            return Some(self.sent(frame));
                        }
                    }
                    Err(RecvError::Lagged(missed)) => return Some(self.recover_from_lag(missed)),
                    Err(RecvError::Closed) => return Some(self.close(CloseReason::Shutdown, "the runtime is shutting down")),
                },
                () = tokio::time::sleep_until(self.next_heartbeat) => {
                    let frame = StreamFrame::Heartbeat { seq: self.cursor, at: Timestamp::now() };
                    return Some(self.sent(frame));
                }
            }
        }
    }

    /// Turns an event into a frame if this subscriber has not seen it and wants it.
    fn deliver(&mut self, event: Arc<Event>) -> Option<StreamFrame> {
        if event.seq <= self.cursor {
            return None;
        }
        self.cursor = event.seq;
        if self.worker.as_ref().is_some_and(|w| *w != event.worker_id) {
            return None;
        }
        Some(StreamFrame::Event { event: Event::clone(&event) })
    }

    /// Tells the subscriber it lagged, then continues from the retention window (durable events are
    /// replayed; live-only ones that were skipped are gone), or closes if even that has moved on.
    fn recover_from_lag(&mut self, missed: u64) -> StreamFrame {
        let resume_after = self.cursor;
        match self.feed.attach(Some(resume_after), None) {
            Ok(attachment) => {
                self.replay = attachment.replay;
                self.live = attachment.live;
            }
            Err(error) => self.queued.push_back(StreamFrame::Closed {
                reason: CloseReason::CursorExpired,
                message: error.message,
                earliest_seq: error.earliest_seq,
            }),
        }
        self.sent(StreamFrame::Lagged { missed, resume_after })
    }

    fn close(&mut self, reason: CloseReason, message: &str) -> StreamFrame {
        self.finished = true;
        StreamFrame::Closed { reason, message: message.to_owned(), earliest_seq: None }
    }

    fn sent(&mut self, frame: StreamFrame) -> StreamFrame {
        self.next_heartbeat = Instant::now() + self.heartbeat;
        frame
    }
}
