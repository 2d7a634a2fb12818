//! Commands — create, input, stop, cancel — as one type, with the idempotency key that makes them safe to
//! send twice and the ack a runtime keeps for that key.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ids::WorkerId;
use crate::worker::{CancelAck, CreateWorkerRequest, InputAck, InputRequest, LifecycleRequest, StopAck, WorkerDetail};

/// The HTTP header that carries an [`IdempotencyKey`].
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Longest idempotency key accepted, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 128;

/// A client's name for one command: a repeated key returns the first answer instead of running it again.
///
/// 1 to [`MAX_IDEMPOTENCY_KEY_BYTES`] visible ASCII characters (a ULID or UUID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key as received.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ApiError> {
        let raw = raw.into();
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        if raw.is_empty() || raw.len() > MAX_IDEMPOTENCY_KEY_BYTES || !visible {
            let message =
                format!("the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} visible ASCII characters");
            return Err(ApiError::invalid(message).with_field("Idempotency-Key"));
        }
        Ok(IdempotencyKey(raw))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = ApiError;

    fn try_from(raw: String) -> Result<Self, ApiError> {
        IdempotencyKey::parse(raw)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

/// A request that changes a runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Create a worker.
    Create(CreateWorkerRequest),
    /// Send a worker input.
    Input(WorkerId, InputRequest),
    /// Stop a worker.
    Stop(WorkerId, LifecycleRequest),
    /// Cancel a worker's turn.
    Cancel(WorkerId, LifecycleRequest),
}

impl Command {
    /// `create`, `input`, `stop` or `cancel`.
    pub const fn name(&self) -> &'static str {
        match self {
            Command::Create(_) => "create",
            Command::Input(..) => "input",
            Command::Stop(..) => "stop",
            Command::Cancel(..) => "cancel",
        }
    }

    /// The worker it addresses; none for a create.
    pub fn worker_id(&self) -> Option<&WorkerId> {
        match self {
            Command::Create(_) => None,
            Command::Input(id, _) | Command::Stop(id, _) | Command::Cancel(id, _) => Some(id),
        }
    }

    /// Checks the body against [`crate::limits`].
    pub fn validate(&self) -> Result<(), ApiError> {
        match self {
            Command::Create(request) => request.validate(),
            Command::Input(id, request) => request.validate().map_err(|e| e.with_worker(id.clone())),
            Command::Stop(id, request) | Command::Cancel(id, request) => {
                request.validate().map_err(|e| e.with_worker(id.clone()))
            }
        }
    }

    /// A stable digest of what the command asks for, so a key sent again with a different request is told
    /// apart from a repeat. The same on every build and platform: it is stored beside the key.
    pub fn fingerprint(&self) -> String {
        let mut hash = Fnv1a::new();
        hash.write(self.name().as_bytes());
        hash.write(&[0]);
        hash.write(self.worker_id().map_or("", WorkerId::as_str).as_bytes());
        hash.write(&[0]);
        // The body's JSON goes straight into the hash: the same bytes as encoding it first, without the buffer.
        let hashed = match self {
            Command::Create(request) => serde_json::to_writer(&mut hash, request),
            Command::Input(_, request) => serde_json::to_writer(&mut hash, request),
            Command::Stop(_, request) | Command::Cancel(_, request) => serde_json::to_writer(&mut hash, request),
        };
        // Encoding these plain structs cannot fail, and writing into the hash never does.
        debug_assert!(hashed.is_ok());
        hex16(hash.finish())
    }
}

/// `value` as 16 lowercase hex digits, as `format!("{value:016x}")` writes it at a fraction of the cost.
fn hex16(value: u64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 16];
    for (at, digit) in text.iter_mut().rev().enumerate() {
        *digit = DIGITS[(value >> (at * 4)) as usize & 0xf];
    }
    String::from_utf8(text.to_vec()).expect("hex digits are text")
}

/// 64-bit FNV-1a: tiny, stable across processes (unlike `std`'s hashers) and good enough to tell requests
/// apart under one key; it guards against mistakes, not attackers.
struct Fnv1a(u64);

impl Fnv1a {
    const fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    const fn finish(&self) -> u64 {
        self.0
    }
}

impl std::io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        Fnv1a::write(self, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a runtime answered a command with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", content = "ack", rename_all = "snake_case")]
pub enum CommandAck {
    /// The created worker, as it was when created (boxed: it is much bigger than the other acks).
    Create(Box<WorkerDetail>),
    /// The accepted input.
    Input(InputAck),
    /// The stop.
    Stop(StopAck),
    /// The cancel.
    Cancel(CancelAck),
}

/// Defines `CommandAck::into_*`: the ack a typed caller expects, or `internal` — a source that answers one
/// command with another's ack has a bug.
macro_rules! unpack {
    ($($(#[$doc:meta])* $name:ident => $variant:ident($ty:ty);)*) => {
        impl CommandAck {
            $(
                $(#[$doc])*
                pub fn $name(self) -> Result<$ty, ApiError> {
                    match self {
                        CommandAck::$variant(ack) => Ok(ack),
                        _ => Err(ApiError::internal()),
                    }
                }
            )*
        }
    };
}

unpack! {
    /// The input's ack.
    into_input => Input(InputAck);
    /// The stop's ack.
    into_stop => Stop(StopAck);
    /// The cancel's ack.
    into_cancel => Cancel(CancelAck);
}

impl CommandAck {
    /// The created worker, or `internal` for another command's ack.
    pub fn into_create(self) -> Result<WorkerDetail, ApiError> {
        match self {
            CommandAck::Create(detail) => Ok(*detail),
            _ => Err(ApiError::internal()),
        }
    }

    /// The command this answers: `create`, `input`, `stop` or `cancel`.
    pub const fn name(&self) -> &'static str {
        match self {
            CommandAck::Create(_) => "create",
            CommandAck::Input(_) => "input",
            CommandAck::Stop(_) => "stop",
            CommandAck::Cancel(_) => "cancel",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> WorkerId {
        WorkerId::parse(raw).unwrap()
    }

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("01JABCDEF-retry_1").is_ok());
        assert!(IdempotencyKey::parse("x".repeat(MAX_IDEMPOTENCY_KEY_BYTES)).is_ok());
        for bad in ["", "has space", "tab\t", "é", &"x".repeat(MAX_IDEMPOTENCY_KEY_BYTES + 1)] {
            let error = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("Idempotency-Key"), "{bad:?}");
        }
    }

    #[test]
    fn hex_digits_are_those_format_writes() {
        for value in [0, 1, 0xf, 0x10, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hex16(value), format!("{value:016x}"));
        }
    }

    #[test]
    fn fingerprints_tell_requests_apart_and_never_change() {
        let input = Command::Input(id("w-1"), InputRequest::user("hi"));
        assert_eq!(input.fingerprint(), input.clone().fingerprint());
        // Pinned: a stored fingerprint must match the one a later build computes.
        assert_eq!(input.fingerprint(), "bba6d40d76d32434");
        let others = [
            Command::Input(id("w-2"), InputRequest::user("hi")),
            Command::Input(id("w-1"), InputRequest::user("hello")),
            Command::Stop(id("w-1"), LifecycleRequest::default()),
            Command::Cancel(id("w-1"), LifecycleRequest::default()),
            Command::Create(CreateWorkerRequest::default()),
        ];
        for other in others {
            assert_ne!(other.fingerprint(), input.fingerprint(), "{other:?}");
        }
    }
}
