//! Ends a source's open streams when the source leaves the registry.

use std::sync::Arc;

use futures::StreamExt;
use parking_lot::Mutex;
use runtime_api::{CloseReason, FrameStream, StreamFrame};
use tokio_util::sync::CancellationToken;

/// Closes every stream it guards, once, with one reason.
pub(super) struct Closer {
    token: CancellationToken,
    reason: Arc<Mutex<CloseReason>>,
}

impl Closer {
    pub(super) fn new() -> Self {
        Closer { token: CancellationToken::new(), reason: Arc::new(Mutex::new(CloseReason::SourceRemoved)) }
    }

    /// Ends every guarded stream with a `closed` frame carrying `reason`.
    pub(super) fn close(&self, reason: CloseReason) {
        *self.reason.lock() = reason;
        self.token.cancel();
    }

    /// Forwards `stream` until the closer fires; then sends a typed `closed` frame and ends.
    pub(super) fn guard(&self, stream: FrameStream) -> FrameStream {
        let guarded = Guarded { stream, token: self.token.clone(), reason: self.reason.clone(), done: false };
        let frames = futures::stream::unfold(guarded, |mut guarded| async move {
            let frame = guarded.next().await?;
            Some((frame, guarded))
        });
        Box::pin(frames.fuse())
    }
}

struct Guarded {
    stream: FrameStream,
    token: CancellationToken,
    reason: Arc<Mutex<CloseReason>>,
    done: bool,
}

impl Guarded {
    async fn next(&mut self) -> Option<StreamFrame> {
        if self.done {
            return None;
        }
        tokio::select! {
            biased;
            () = self.token.cancelled() => {
                self.done = true;
                let reason = *self.reason.lock();
                Some(StreamFrame::Closed { reason, message: closing_message(reason).to_owned(), earliest_seq: None })
            }
            frame = self.stream.next() => {
                let frame = frame?;
                self.done = matches!(frame, StreamFrame::Closed { .. });
                Some(frame)
            }
        }
    }
}

fn closing_message(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::SourceRemoved => "the runtime was removed from the backend",
        CloseReason::Shutdown => "the backend is shutting down",
        CloseReason::CursorExpired => "the stream's position is no longer retained",
        CloseReason::SourceFailed => "the runtime can no longer deliver events",
    }
}
