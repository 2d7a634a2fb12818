//! A request body with a deadline for arriving whole.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why reading a request body stopped: it did not arrive whole in time. The extractors find it among a
/// rejection's causes and answer `408 request_timeout`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body did not arrive within {}s", .0.as_secs_f32())]
pub struct BodyTimeout(pub Duration);

/// `inner`, failing with [`BodyTimeout`] once its deadline passes. The deadline counts from the request
/// head, not between chunks, so a peer dripping a byte at a time cannot stretch it; the timer is only set
/// the first time the body is not ready, so a body that came with its head costs no timer.
pub(super) struct TimedBody {
    inner: Body,
    deadline: Instant,
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl TimedBody {
    pub(super) fn new(inner: Body, timeout: Duration) -> Self {
        TimedBody { inner, deadline: Instant::now() + timeout, timeout, sleep: None }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        // Once the timer runs, a chunk that happens to be ready does not let the body outlast it.
        if this.sleep.as_ref().is_some_and(|sleep| sleep.is_elapsed()) {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(this.timeout)))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let deadline = this.deadline;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(this.timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
