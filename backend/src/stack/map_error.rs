//! Error mapping: the one boundary where the stack's failures become SPEC §5 codes.
//!
//! Inside it errors are boxed (`ApiError` from the source, [`DeadlineExceeded`] from the deadline); outside
//! it every error is an [`ApiError`] that names this runtime. Anything unexpected becomes `internal`, with
//! its detail in the log and not in the response. The detail logged is scrubbed here: error mapping runs
//! inside sanitizing, and a log line may carry no registered secret either (SPEC §10).

use runtime_api::{ApiError, ErrorCode, RuntimeId};

use super::deadline::DeadlineExceeded;
use super::{BoxError, Sanitizer};

/// Maps a stack error to its code; any detail logged is scrubbed by `sanitizer` first.
pub fn classify(runtime_id: &RuntimeId, sanitizer: &Sanitizer, error: BoxError) -> ApiError {
    let error = match error.downcast::<ApiError>() {
        Ok(api) => *api,
        Err(error) => match error.downcast::<DeadlineExceeded>() {
            Ok(exceeded) => ApiError::timed_out(runtime_id, exceeded.0),
            Err(other) => {
                let mut detail = other.to_string();
                sanitizer.diagnostic(&mut detail);
                tracing::error!(runtime_id = %runtime_id, error = %detail, "unexpected error from a source");
                ApiError::internal()
            }
        },
    };
    let mut error = error;
    if error.code == ErrorCode::Internal && error.message != "internal error" {
        // A source's internal detail belongs in the log, scrubbed; diagnostics and every response show only this.
        let mut detail = std::mem::replace(&mut error.message, "internal error".to_owned());
        sanitizer.diagnostic(&mut detail);
        tracing::error!(runtime_id = %runtime_id, detail = %detail, "internal error from a source");
    }
    // The Browser addresses runtimes by their registry id, whatever a source calls itself.
    error.with_runtime(runtime_id.clone())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id() -> RuntimeId {
        RuntimeId::parse("dev").unwrap()
    }

    #[test]
    fn source_errors_pass_through_and_carry_the_registry_id() {
        let busy = ApiError::new(ErrorCode::WorkerBusy, "worker w-1 is running a turn");
        let mapped = classify(&id(), &Sanitizer::new(), Box::new(busy.clone()));
        assert_eq!(mapped, busy.clone().with_runtime(id()));
        let self_named = busy.clone().with_runtime(RuntimeId::parse("what-the-remote-calls-itself").unwrap());
        assert_eq!(classify(&id(), &Sanitizer::new(), Box::new(self_named)), busy.with_runtime(id()));
    }

    #[test]
    fn a_sources_internal_detail_never_leaves_the_stack() {
        let leaky = ApiError::new(ErrorCode::Internal, "panicked at src/store.rs:88: db 10.0.0.5:5432 refused");
        let mapped = classify(&id(), &Sanitizer::new(), Box::new(leaky));
        assert_eq!((mapped.code, mapped.message.as_str()), (ErrorCode::Internal, "internal error"));
    }

    #[test]
    fn a_deadline_becomes_runtime_timeout() {
        let mapped = classify(&id(), &Sanitizer::new(), Box::new(DeadlineExceeded(Duration::from_secs(10))));
        assert_eq!(mapped.code, ErrorCode::RuntimeTimeout);
        assert_eq!(mapped.message, "runtime dev did not answer within 10s");
    }

    #[test]
    fn anything_else_is_internal_without_detail() {
        let mapped = classify(&id(), &Sanitizer::new(), "socket /var/run/secret.sock exploded".into());
        assert_eq!((mapped.code, mapped.message.as_str()), (ErrorCode::Internal, "internal error"));
    }
}
