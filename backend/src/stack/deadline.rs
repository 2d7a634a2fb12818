//! Deadline: every source call ends in time, whatever the source does.
//!
//! Runs inside error mapping (which turns [`DeadlineExceeded`] into `runtime_timeout`) and around the
//! bulkhead, so time spent waiting for a bulkhead slot counts against the deadline.

use std::time::Duration;

use futures::FutureExt;

use super::{BoxError, Operation, secs};

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

/// Runs `call`, or fails with [`DeadlineExceeded`] once `limit` has passed.
// A combinator rather than an `async fn`: an `async fn` keeps its future argument twice in its own future.
pub(super) fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, BoxError>>,
) -> impl Future<Output = Result<T, BoxError>> {
    tokio::time::timeout(limit, call)
        .map(move |outcome| outcome.unwrap_or_else(|_| Err(DeadlineExceeded(limit).into())))
}

#[cfg(test)]
mod tests {
    use std::future::pending;

    use super::*;
    use crate::stack::{SourceRequest, SourceResponse};

    fn deadlines() -> Deadlines {
        let ms = Duration::from_millis;
        Deadlines { read: ms(50), command: ms(200), subscribe: ms(50) }
    }

    /// A call to `inner` for `request` under its operation's deadline, as the stack makes it.
    async fn call(
        request: SourceRequest,
        inner: impl Future<Output = Result<SourceResponse, BoxError>>,
    ) -> Result<SourceResponse, BoxError> {
        within(deadlines().of(request.operation()), inner).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_fails_at_its_deadline() {
        let started = tokio::time::Instant::now();
        let error = call(SourceRequest::Summary, pending()).await.err().unwrap();
        assert!(error.is::<DeadlineExceeded>());
        assert_eq!(started.elapsed(), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn commands_get_the_longer_deadline() {
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err::<SourceResponse, BoxError>("source answered".into())
        };
        let id = runtime_api::WorkerId::parse("w-1").unwrap();
        let stop = SourceRequest::Command(runtime_api::Command::Stop(id.clone(), Default::default()), None);
        let error = call(stop, slow()).await.err().unwrap();
        assert_eq!(error.to_string(), "source answered", "a command may take 100ms");
        let error = call(SourceRequest::Get(id), slow()).await.err().unwrap();
        assert!(error.is::<DeadlineExceeded>(), "a read may not");
    }
}
