//! The one error vocabulary of every hop: codes, their HTTP status and retry advice, and the JSON shape.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{IdError, RuntimeId, WorkerId};

/// Defines [`ErrorCode`] from a single table so a code's wire name, status and retry advice cannot drift.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal, $status:literal, retryable = $retry:literal;)*) => {
        /// Every error a runtime or the backend can answer with (SPEC §5).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $wire,)* }
            }

            /// The HTTP status that carries this code.
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// Whether repeating the same request later may succeed.
            pub const fn retryable(self) -> bool {
                match self { $(ErrorCode::$variant => $retry,)* }
            }
        }
    };
}

error_codes! {
    /// Malformed JSON, a bad field or a bad identifier.
    InvalidRequest = "invalid_request", 400, retryable = false;
    /// Credentials are missing or wrong.
    Unauthorized = "unauthorized", 401, retryable = false;
    /// The request is not allowed from where it came (Host or Origin).
    Forbidden = "forbidden", 403, retryable = false;
    /// No runtime with this id is registered.
    RuntimeNotFound = "runtime_not_found", 404, retryable = false;
    /// No worker with this id exists in the runtime.
    WorkerNotFound = "worker_not_found", 404, retryable = false;
    /// No persisted connection with this id.
    ConnectionNotFound = "connection_not_found", 404, retryable = false;
    /// The requested profile is not configured.
    ProfileNotFound = "profile_not_found", 404, retryable = false;
    /// The path exists but does not take this method; the `Allow` header lists the ones it takes.
    MethodNotAllowed = "method_not_allowed", 405, retryable = false;
    /// The client did not send its request body in time; sending it again, faster, may succeed.
    RequestTimeout = "request_timeout", 408, retryable = true;
    /// The worker is running a turn (or its queue is full).
    WorkerBusy = "worker_busy", 409, retryable = true;
    /// The worker is stopped or failed and takes no more input.
    WorkerStopped = "worker_stopped", 409, retryable = false;
    /// A connection with this id already exists.
    DuplicateConnection = "duplicate_connection", 409, retryable = false;
    /// The built-in runtime cannot be removed.
    ConnectionBuiltin = "connection_builtin", 409, retryable = false;
    /// The config file changed on disk since it was read.
    ConfigConflict = "config_conflict", 409, retryable = true;
    /// The resume point has left the event retention window.
    CursorExpired = "cursor_expired", 410, retryable = false;
    /// The request body is over the limit.
    PayloadTooLarge = "payload_too_large", 413, retryable = false;
    /// The config file on disk cannot be parsed, so it is not rewritten.
    ConfigInvalid = "config_invalid", 422, retryable = false;
    /// Too many event streams are open, for this client or in all; close one or retry later.
    TooManyStreams = "too_many_streams", 429, retryable = true;
    /// Too many wrong sign-in attempts from this client; try again after `Retry-After`.
    TooManyAttempts = "too_many_attempts", 429, retryable = true;
    /// The source cannot perform this operation.
    Unsupported = "unsupported", 501, retryable = false;
    /// The remote runtime refused the backend's credentials.
    RuntimeAuthFailed = "runtime_auth_failed", 502, retryable = false;
    /// The remote runtime answered something that is not the protocol.
    RuntimeProtocolError = "runtime_protocol_error", 502, retryable = false;
    /// The remote runtime speaks another protocol or major version.
    RuntimeIncompatible = "runtime_incompatible", 502, retryable = false;
    /// The runtime cannot be reached or is not running.
    RuntimeUnavailable = "runtime_unavailable", 503, retryable = true;
    /// The runtime did not answer in time.
    RuntimeTimeout = "runtime_timeout", 504, retryable = true;
    /// A bug; the message carries no internals.
    Internal = "internal", 500, retryable = false;
}

impl ErrorCode {
    /// Looks a code up by its wire name.
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_wire(&s).ok_or_else(|| serde::de::Error::custom(format_args!("unknown error code {s:?}")))
    }
}

/// A typed error with a human message and the ids it concerns.
///
/// On the wire it is the `error` member of [`ErrorEnvelope`]; `retryable` is written from the code and
/// ignored when read, so it can never disagree with the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(into = "ErrorObject", from = "ErrorObject")]
#[error("{code}: {message}")]
pub struct ApiError {
    /// What went wrong, from the closed table.
    pub code: ErrorCode,
    /// Lowercase human text without a final period; never holds internals.
    pub message: String,
    /// The runtime concerned, when there is one.
    pub runtime_id: Option<RuntimeId>,
    /// The worker concerned, when there is one.
    pub worker_id: Option<WorkerId>,
    /// For `cursor_expired`: the earliest event seq a client can still resume after.
    pub earliest_seq: Option<u64>,
    /// For an error about one field of a request body: that field's name, so a form can show it in place.
    pub field: Option<String>,
    /// For a retryable error: how many seconds to wait before trying again (also sent as `Retry-After`).
    pub retry_after_s: Option<std::num::NonZeroU32>,
    /// For a request with several bad fields: every one of them, so a form can mark them all at once
    /// (`field` and `message` repeat the first); empty otherwise.
    pub problems: Vec<FieldProblem>,
}

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldProblem {
    /// The field's name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The JSON body of every error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ApiError,
}

/// The wire form of [`ApiError`]; it also supplies `ApiError`'s OpenAPI schema, so the two cannot differ.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "A typed error with a human message and the ids it concerns."))]
struct ErrorObject {
    /// What went wrong, from the closed table.
    code: ErrorCode,
    /// Lowercase human text without a final period.
    message: String,
    /// Whether repeating the request later may succeed; always written, taken from the code.
    // Readers tolerate its absence, but every error this crate writes carries it, so the schema (which
    // describes responses) declares it required.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    retryable: bool,
    /// The runtime concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    runtime_id: Option<RuntimeId>,
    /// The worker concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    worker_id: Option<WorkerId>,
    /// For `cursor_expired`: the earliest event seq a client can still resume after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    earliest_seq: Option<u64>,
    /// For an error about one field of a request body: that field's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// For a retryable error: seconds to wait before trying again (the `Retry-After` header says the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1))]
    retry_after_s: Option<std::num::NonZeroU32>,
    /// For a request with several bad fields: every one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    problems: Vec<FieldProblem>,
}

impl From<ApiError> for ErrorObject {
    fn from(e: ApiError) -> Self {
        ErrorObject {
            retryable: e.code.retryable(),
            code: e.code,
            message: e.message,
            runtime_id: e.runtime_id,
            worker_id: e.worker_id,
            earliest_seq: e.earliest_seq,
            field: e.field,
            retry_after_s: e.retry_after_s,
            problems: e.problems,
        }
    }
}

impl From<ErrorObject> for ApiError {
    fn from(o: ErrorObject) -> Self {
        ApiError {
            code: o.code,
            message: o.message,
            runtime_id: o.runtime_id,
            worker_id: o.worker_id,
            earliest_seq: o.earliest_seq,
            field: o.field,
            retry_after_s: o.retry_after_s,
            problems: o.problems,
        }
    }
}

// `ErrorCode` and `ApiError` have hand-written or proxied serde, so their schemas are written by hand to match.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Every error a runtime or the backend can answer with."))
            .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ApiError {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <ErrorObject as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ApiError {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <ErrorObject as utoipa::ToSchema>::schemas(schemas);
    }
}

impl ApiError {
    /// An error with a code and message and no ids.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            runtime_id: None,
            worker_id: None,
            earliest_seq: None,
            field: None,
            retry_after_s: None,
            problems: Vec::new(),
        }
    }

    /// One error for several bad fields: the first one's code, message and field, and every one of them in
    /// `problems`. `None` when there are none.
    pub fn of_problems(mut errors: Vec<ApiError>) -> Option<Self> {
        if errors.len() < 2 {
            return errors.pop();
        }
        let problems = errors
            .iter()
            .filter_map(|e| e.field.clone().map(|field| FieldProblem { field, message: e.message.clone() }))
            .collect();
        let mut first = errors.swap_remove(0);
        first.problems = problems;
        Some(first)
    }

    /// Names the runtime this error concerns.
    pub fn with_runtime(mut self, runtime_id: RuntimeId) -> Self {
        self.runtime_id = Some(runtime_id);
        self
    }

    /// Names the worker this error concerns.
    pub fn with_worker(mut self, worker_id: WorkerId) -> Self {
        self.worker_id = Some(worker_id);
        self
    }

    /// Names the request field this error is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Advises waiting `wait` (rounded up to whole seconds, at least one) before trying again.
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let seconds = u32::try_from(seconds).unwrap_or(u32::MAX);
        self.retry_after_s = Some(std::num::NonZeroU32::new(seconds).unwrap_or(std::num::NonZeroU32::MIN));
        self
    }

    /// `invalid_request` with a message naming the bad field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `worker_not_found` for this worker.
    pub fn worker_not_found(worker_id: &WorkerId) -> Self {
        Self::new(ErrorCode::WorkerNotFound, format!("worker {worker_id} not found")).with_worker(worker_id.clone())
    }

    /// `runtime_not_found` for this runtime.
    pub fn runtime_not_found(runtime_id: &RuntimeId) -> Self {
        Self::new(ErrorCode::RuntimeNotFound, format!("runtime {runtime_id} not found"))
            .with_runtime(runtime_id.clone())
    }

    /// `unsupported` for an operation this source cannot perform.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(ErrorCode::Unsupported, format!("{operation} is not supported by this runtime"))
    }

    /// `cursor_expired`, telling the client where the retained events begin.
    pub fn cursor_expired(after: u64, earliest_seq: u64) -> Self {
        let mut e = Self::new(
            ErrorCode::CursorExpired,
            format!("events after seq {after} are no longer retained; re-read state and resume after {earliest_seq}"),
        );
        e.earliest_seq = Some(earliest_seq);
        e
    }

    /// `runtime_timeout`: the runtime did not answer within `limit` (the one wording of it, wherever the
    /// limit was).
    pub fn timed_out(runtime_id: &RuntimeId, limit: std::time::Duration) -> Self {
        let message = format!("runtime {runtime_id} did not answer within {}s", limit.as_secs_f32());
        Self::new(ErrorCode::RuntimeTimeout, message).with_runtime(runtime_id.clone())
    }

    /// `internal` with a fixed message; the detail belongs in the log, not the response.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// The HTTP status for this error.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }
}

impl From<IdError> for ApiError {
    fn from(e: IdError) -> Self {
        ApiError::invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_an_error_status() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
            assert!((400..600).contains(&code.http_status()), "{code}");
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        assert_eq!(ErrorCode::ALL.len(), 26);
    }

    #[test]
    fn table_matches_spec_statuses() {
        use ErrorCode::*;
        let expect = [
            (InvalidRequest, 400),
            (Unauthorized, 401),
            (Forbidden, 403),
            (WorkerNotFound, 404),
            (MethodNotAllowed, 405),
            (RequestTimeout, 408),
            (WorkerBusy, 409),
            (ConfigConflict, 409),
            (CursorExpired, 410),
            (PayloadTooLarge, 413),
            (ConfigInvalid, 422),
            (TooManyStreams, 429),
            (TooManyAttempts, 429),
            (Unsupported, 501),
            (RuntimeIncompatible, 502),
            (RuntimeUnavailable, 503),
            (RuntimeTimeout, 504),
            (Internal, 500),
        ];
        for (code, status) in expect {
            assert_eq!(code.http_status(), status, "{code}");
        }
        assert!(WorkerBusy.retryable());
        assert!(RequestTimeout.retryable());
        assert!(!WorkerStopped.retryable());
    }

    #[test]
    fn envelope_has_the_spec_shape_and_derives_retryable_from_the_code() {
        let err = ApiError::worker_not_found(&WorkerId::parse("w-1").unwrap());
        let json = serde_json::to_value(ErrorEnvelope { error: err.clone() }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {
                "code": "worker_not_found",
                "message": "worker w-1 not found",
                "retryable": false,
                "worker_id": "w-1"
            }})
        );
        // A peer that claims the wrong retryable flag does not change what the code means.
        let lying = r#"{"error":{"code":"worker_busy","message":"m","retryable":false}}"#;
        let back: ErrorEnvelope = serde_json::from_str(lying).unwrap();
        assert!(back.error.code.retryable());
    }

    #[test]
    fn unknown_codes_are_rejected() {
        assert!(serde_json::from_str::<ErrorCode>("\"teapot\"").is_err());
    }
}
