//! Every way a remote call can go wrong, mapped to its own SPEC §5 code in one place.
//!
//! Messages are written here from what kind of failure it was. The client libraries' own messages are never
//! copied: they name the URL, and so the endpoint.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use runtime_api::runtime::PROTOCOL_NAME;
use runtime_api::{ApiError, ErrorCode, ErrorEnvelope, ProtocolInfo, RuntimeId};
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
    /// Whether repeating an idempotent read at once may help (not after waiting out a timeout).
    pub(super) fn retryable(self) -> bool {
        matches!(self, Failure::Unavailable(_))
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

/// Classifies a failed request by walking its chain of causes.
pub(super) fn transport(error: &(dyn StdError + 'static)) -> Failure {
    let mut causes = Vec::new();
    collect_causes(error, &mut causes);
    for current in causes {
        if current.is::<rustls::Error>() {
            return Failure::Unavailable("the TLS handshake failed (is its certificate trusted?)");
        }
        if let Some(hyper) = current.downcast_ref::<hyper::Error>() {
            if hyper.is_parse() || hyper.is_parse_status() {
                return Failure::Protocol;
            }
            if hyper.is_incomplete_message() {
                return Failure::Unavailable("it closed the connection in the middle of an answer");
            }
        }
        if let Some(io) = current.downcast_ref::<io::Error>()
            && let Some(failure) = io_failure(io.kind())
        {
            return failure;
        }
    }
    let connecting = error.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(|e| e.is_connect());
    if connecting {
        // Name resolution failures come as connect errors without a telling io cause.
        return Failure::Unavailable("its address cannot be resolved or connected to");
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

/// `runtime_incompatible` unless the remote speaks this protocol at this major version.
pub(super) fn check_protocol(runtime_id: &RuntimeId, protocol: &ProtocolInfo) -> Result<(), ApiError> {
    if protocol.is_compatible() {
        return Ok(());
    }
    let what = if protocol.name != PROTOCOL_NAME { "another protocol" } else { "another major version" };
    Err(ApiError::new(ErrorCode::RuntimeIncompatible, format!("runtime {runtime_id} speaks {what}")))
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

    #[test]
    fn another_protocol_or_major_version_is_incompatible() {
        let mut protocol = ProtocolInfo::current(&[]);
        assert!(check_protocol(&id(), &protocol).is_ok());
        protocol.version = "2.0".into();
        assert_eq!(check_protocol(&id(), &protocol).unwrap_err().code, ErrorCode::RuntimeIncompatible);
        protocol.name = "other".into();
        assert!(check_protocol(&id(), &protocol).unwrap_err().message.contains("another protocol"));
    }

    #[test]
    fn failures_name_no_address() {
        for failure in [Failure::Unavailable("the connection was refused"), Failure::Timeout, Failure::Protocol] {
            let error = failure.error(&id(), Duration::from_secs(3));
            assert!(!error.message.contains("127.0.0.1") && !error.message.contains("http"), "{error}");
        }
    }
}
