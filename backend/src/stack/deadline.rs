//! Deadline: every source call ends in time, whatever the source does.
//!
//! Sits below `MapErrorLayer` (which turns [`DeadlineExceeded`] into `runtime_timeout`) and above
//! `BulkheadLayer`, so time spent waiting for a bulkhead slot counts against the deadline.

use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::{BoxError, Operation, SourceRequest, SourceResponse, secs};

/// How long each kind of call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlines {
    /// Summary, list, detail and transcript.
    pub read: Duration,
    /// Create, input, stop and cancel (which wait until the runtime has made the change durable).
    pub command: Duration,
    /// Opening an event stream (not the stream's life).
    pub subscribe: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines { read: secs(10), command: secs(30), subscribe: secs(10) }
    }
}

impl Deadlines {
    /// The limits a remote runtime's client works within, derived from these deadlines so the two cannot
    /// disagree; `reconnect_max` is the longest pause between attempts to resume an event stream.
    pub fn remote_timeouts(&self, reconnect_max: Duration) -> sources::remote_http::RemoteTimeouts {
        sources::remote_http::RemoteTimeouts::inside(self.read, self.command).with_reconnect_max(reconnect_max)
    }

    /// The deadline of one operation.
    pub fn of(&self, operation: Operation) -> Duration {
        match operation {
            Operation::Subscribe => self.subscribe,
            op if op.is_command() => self.command,
            _ => self.read,
        }
    }
}

/// The call did not finish within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {}s", .0.as_secs_f32())]
pub struct DeadlineExceeded(pub Duration);

/// Applies [`Deadlines`] to every call.
#[derive(Debug, Clone)]
pub struct DeadlineLayer {
    deadlines: Deadlines,
}

impl DeadlineLayer {
    /// A layer with these deadlines.
    pub fn new(deadlines: Deadlines) -> Self {
        DeadlineLayer { deadlines }
    }
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline { inner, deadlines: self.deadlines.clone() }
    }
}

/// The service of [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    deadlines: Deadlines,
}

impl<S> tower::Service<SourceRequest> for Deadline<S>
where
    S: tower::Service<SourceRequest, Response = SourceResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = SourceResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<SourceResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SourceRequest) -> Self::Future {
        let limit = self.deadlines.of(request.operation());
        let call = self.inner.call(request);
        async move {
            match tokio::time::timeout(limit, call).await {
                Ok(result) => result,
                Err(_) => Err(DeadlineExceeded(limit).into()),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::future::pending;

    use tower::{Service, ServiceExt, service_fn};

    use super::*;

    fn layer() -> DeadlineLayer {
        let ms = Duration::from_millis;
        DeadlineLayer::new(Deadlines { read: ms(50), command: ms(200), subscribe: ms(50) })
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_fails_at_its_deadline() {
        let hung = service_fn(|_: SourceRequest| pending::<Result<SourceResponse, BoxError>>());
        let mut service = tower::Layer::layer(&layer(), hung);
        let started = tokio::time::Instant::now();
        let error = service.ready().await.unwrap().call(SourceRequest::Summary).await.err().unwrap();
        assert!(error.is::<DeadlineExceeded>());
        assert_eq!(started.elapsed(), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn commands_get_the_longer_deadline() {
        let slow = service_fn(|_: SourceRequest| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err::<SourceResponse, BoxError>("source answered".into())
        });
        let mut service = tower::Layer::layer(&layer(), slow);
        let id = runtime_api::WorkerId::parse("w-1").unwrap();
        let stop = SourceRequest::Command(runtime_api::Command::Stop(id.clone(), Default::default()), None);
        let error = service.ready().await.unwrap().call(stop).await.err().unwrap();
        assert_eq!(error.to_string(), "source answered", "a command may take 100ms");
        let error = service.ready().await.unwrap().call(SourceRequest::Get(id)).await.err().unwrap();
        assert!(error.is::<DeadlineExceeded>(), "a read may not");
    }
}
