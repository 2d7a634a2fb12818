//! Every way a remote call can go wrong, mapped to its own SPEC §5 code in one place.
//!
//! Messages are written here from what kind of failure it was. The client libraries' own messages are never
//! copied: they name the URL, and so the endpoint.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use runtime_api::runtime::{PROTOCOL_NAME, PROTOCOL_VERSION};
use runtime_api::{ApiError, ErrorCode, ErrorEnvelope, InputAck, ProtocolInfo, RuntimeId, RuntimeSummary};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// What kind of transport failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// Nothing listens, or the connection was torn down: try again later.
    Unavailable(&'static str),
    /// No answer in time.
    Timeout,
    /// The peer does not speak HTTP.
    Protocol,
}

impl Failure {
    /// Whether trying again on a fresh connection may help: not when the peer answered nonsense.
    pub(super) fn retryable(self) -> bool {
        matches!(self, Failure::Unavailable(_) | Failure::Timeout)
    }

    /// The error for a call to `runtime_id` that failed this way.
    pub(super) fn error(self, runtime_id: &RuntimeId, limit: Duration) -> ApiError {
        match self {
            Failure::Unavailable(what) => {
                ApiError::new(ErrorCode::RuntimeUnavailable, format!("runtime {runtime_id} cannot be reached: {what}"))
            }
            Failure::Timeout => ApiError::timed_out(runtime_id, limit),
            Failure::Protocol => protocol_error(runtime_id, "it does not speak HTTP"),
        }
    }
}

/// Classifies a failed connect, TLS handshake, write or read by walking its chain of causes.
pub(super) fn io(error: &io::Error) -> Failure {
    let mut causes = Vec::new();
    collect_causes(error, &mut causes);
    for current in causes {
        if current.is::<rustls::Error>() {
            return Failure::Unavailable("the TLS handshake failed (is its certificate trusted?)");
        }
        if let Some(io) = current.downcast_ref::<io::Error>()
            && let Some(failure) = io_failure(io.kind())
        {
            return failure;
        }
    }
    Failure::Unavailable("the connection failed")
}

/// Every cause of `error`, outermost first. An `io::Error`'s `source()` skips the error it wraps, so that
/// one is followed too (TLS failures arrive wrapped in two of them).
fn collect_causes<'e>(error: &'e (dyn StdError + 'static), into: &mut Vec<&'e (dyn StdError + 'static)>) {
    into.push(error);
    if let Some(inner) = error.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
        collect_causes(inner, into);
    } else if let Some(source) = error.source() {
        collect_causes(source, into);
    }
}

/// The failure an I/O error kind stands for, if it is one of the telling ones.
pub(super) fn io_failure(kind: io::ErrorKind) -> Option<Failure> {
    match kind {
        io::ErrorKind::ConnectionRefused => Some(Failure::Unavailable("the connection was refused")),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => Some(Failure::Unavailable("the connection was reset")),
        io::ErrorKind::TimedOut => Some(Failure::Timeout),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable | io::ErrorKind::AddrNotAvailable => {
            Some(Failure::Unavailable("its host cannot be reached"))
        }
        _ => None,
    }
}

/// The answer as `T`, or the error it carries.
///
/// Credentials refused are `runtime_auth_failed`; the remote's own typed errors pass through unchanged; any
/// other status or body is not the runtime protocol.
pub(super) fn answer<T: DeserializeOwned>(runtime_id: &RuntimeId, status: u16, body: &[u8]) -> Result<T, ApiError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body)
            .map_err(|_| protocol_error(runtime_id, "its answer is not the expected JSON"));
    }
    if status == 401 || status == 403 {
        return Err(ApiError::new(
            ErrorCode::RuntimeAuthFailed,
            format!("runtime {runtime_id} refused the backend's credentials"),
        ));
    }
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) if envelope.error.http_status() == status => {
            // Whatever runtime id the remote names is replaced by the stack with the one it is registered under.
            Err(envelope.error)
        }
        _ => Err(protocol_error(runtime_id, &format!("it answered HTTP {status} outside the protocol"))),
    }
}

/// An input's answer, judged as by [`answer`]; an ack in the plain shape runtimes write is read by the quick
/// reader, which gives what the general decoder would.
pub(super) fn input_ack(runtime_id: &RuntimeId, status: u16, body: &[u8]) -> Result<InputAck, ApiError> {
    if (200..300).contains(&status)
        && let Some(ack) = runtime_api::verbatim::read_input_ack(body)
    {
        return Ok(ack);
    }
    answer(runtime_id, status, body)
}

/// A successful answer as its bytes, for forwarding; any other answer is judged as by [`answer`].
pub(super) fn bytes(runtime_id: &RuntimeId, status: u16, body: bytes::Bytes) -> Result<bytes::Bytes, ApiError> {
    if (200..300).contains(&status) {
        return Ok(body);
    }
    answer::<serde::de::IgnoredAny>(runtime_id, status, &body).map(|_| body)
}

/// A `GET /v1/runtime` answer, judged: the one place that decides whether a remote is a runtime this backend
/// can use. An answer that names no protocol is not a runtime (`runtime_protocol_error`); another protocol or
/// major version is `runtime_incompatible`, quoting what the remote sent; a compatible one must have the
/// summary's shape.
pub(super) fn summary(runtime_id: &RuntimeId, status: u16, body: &[u8]) -> Result<RuntimeSummary, ApiError> {
    let answer: serde_json::Value = answer(runtime_id, status, body)?;
    let protocol = answer.get("protocol").and_then(|p| ProtocolInfo::deserialize(p).ok());
    let Some(protocol) = protocol else {
        return Err(protocol_error(runtime_id, "its answer names no protocol: it is not a worker runtime"));
    };
    check_protocol(runtime_id, &protocol)?;
    serde_json::from_value(answer).map_err(|_| {
        let defines = format!(
            "its summary does not have the shape {} {} defines",
            quote(&protocol.name),
            quote(&protocol.version)
        );
        protocol_error(runtime_id, &defines)
    })
}

/// `runtime_incompatible` unless the remote speaks this protocol at this major version.
fn check_protocol(runtime_id: &RuntimeId, protocol: &ProtocolInfo) -> Result<(), ApiError> {
    if protocol.is_compatible() {
        return Ok(());
    }
    let what = if protocol.name != PROTOCOL_NAME { "another protocol" } else { "another major version" };
    let message = format!(
        "runtime {runtime_id} speaks {what}, {} {}; this backend speaks {PROTOCOL_NAME} {PROTOCOL_VERSION}",
        quote(&protocol.name),
        quote(&protocol.version)
    );
    Err(ApiError::new(ErrorCode::RuntimeIncompatible, message))
}

/// Longest text quoted from a remote's answer.
const MAX_QUOTED_CHARS: usize = 64;

/// Text from the remote, bounded and without control characters, as it may be shown.
pub(super) fn quote(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(MAX_QUOTED_CHARS).collect();
    if clean.is_empty() { "(nothing)".to_owned() } else { clean }
}

/// `runtime_protocol_error` explaining what was wrong.
pub(super) fn protocol_error(runtime_id: &RuntimeId, what: &str) -> ApiError {
    ApiError::new(ErrorCode::RuntimeProtocolError, format!("runtime {runtime_id} is not a usable runtime: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RuntimeId {
        RuntimeId::parse("dev").unwrap()
    }

    #[test]
    fn typed_remote_errors_pass_through_unchanged() {
        let body = br#"{"error":{"code":"worker_busy","message":"worker w-1 is running a turn","retryable":true,"runtime_id":"self","worker_id":"w-1"}}"#;
        let error = answer::<()>(&id(), 409, body).unwrap_err();
        assert_eq!((error.code, error.message.as_str()), (ErrorCode::WorkerBusy, "worker w-1 is running a turn"));
        assert_eq!(error.worker_id.as_ref().map(|w| w.as_str()), Some("w-1"));
    }

    #[test]
    fn refused_credentials_are_auth_failures_even_in_the_protocols_shape() {
        let body = br#"{"error":{"code":"unauthorized","message":"token","retryable":false}}"#;
        assert_eq!(answer::<()>(&id(), 401, body).unwrap_err().code, ErrorCode::RuntimeAuthFailed);
        assert_eq!(answer::<()>(&id(), 403, b"nope").unwrap_err().code, ErrorCode::RuntimeAuthFailed);
    }

    #[test]
    fn anything_else_is_a_protocol_error() {
        for (status, body) in [(200, &b"<html>"[..]), (404, b"<h1>not found</h1>"), (500, b"")] {
            let error = answer::<runtime_api::RuntimeSummary>(&id(), status, body).unwrap_err();
            assert_eq!(error.code, ErrorCode::RuntimeProtocolError, "{status}");
        }
        let wrong_status = br#"{"error":{"code":"worker_busy","message":"m","retryable":true}}"#;
        assert_eq!(answer::<()>(&id(), 500, wrong_status).unwrap_err().code, ErrorCode::RuntimeProtocolError);
    }

    fn runtime_answer(name: &str, version: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "runtime_id": "dev", "display_name": "Dev", "status": "ready",
            "workers": {"total": 0, "idle": 0, "busy": 0, "stopped": 0, "failed": 0},
            "capabilities": {"read": true, "create": true, "input": true, "lifecycle": true, "transcript": true,
                "events": true, "when_busy": ["reject"], "profiles": []},
            "protocol": {"name": name, "version": version, "features": []},
            "log_id": "l", "last_event_seq": 0
        }))
        .unwrap()
    }

    #[test]
    fn a_summary_of_this_protocol_at_any_minor_version_is_accepted() {
        let summary = summary(&id(), 200, &runtime_answer(PROTOCOL_NAME, "1.7")).unwrap();
        assert_eq!(summary.protocol.version, "1.7");
    }

    #[test]
    fn another_protocol_or_major_version_is_incompatible_quoting_what_was_sent() {
        let error = summary(&id(), 200, &runtime_answer(PROTOCOL_NAME, "2.0")).unwrap_err();
        assert_eq!(error.code, ErrorCode::RuntimeIncompatible);
        assert!(error.message.contains("another major version, yoi-worker-runtime 2.0"), "{error}");
        let error = summary(&id(), 200, &runtime_answer("other-thing", "7")).unwrap_err();
        assert!(error.message.contains("another protocol, other-thing 7; this backend speaks"), "{error}");
    }

    #[test]
    fn an_answer_without_a_protocol_is_not_a_runtime_and_invents_no_version() {
        for body in [&br#"{"hello": "world"}"#[..], b"[1, 2]", br#"{"protocol": "yes"}"#] {
            let error = summary(&id(), 200, body).unwrap_err();
            assert_eq!(error.code, ErrorCode::RuntimeProtocolError);
            assert!(error.message.contains("names no protocol") && !error.message.contains('1'), "{error}");
        }
        let shapeless = br#"{"protocol": {"name": "yoi-worker-runtime", "version": "1.0", "features": []}}"#;
        let error = summary(&id(), 200, shapeless).unwrap_err();
        assert!(error.message.contains("does not have the shape yoi-worker-runtime 1.0 defines"), "{error}");
    }

    #[test]
    fn text_quoted_from_a_remote_is_bounded_and_cleaned() {
        let long = format!("x\u{1b}[31m{}", "y".repeat(500));
        let error = summary(&id(), 200, &runtime_answer(&long, "1.0")).unwrap_err();
        assert!(!error.message.contains('\u{1b}') && error.message.chars().count() < 200, "{error}");
    }
}
