//! Answers handed on as the bytes their runtime sent, when that is provably the same as decoding and
//! encoding them again: the backend then forwards a remote's worker detail without touching it.
//!
//! [`VerbatimDetail::check`] accepts only bytes that say exactly what their decoded [`WorkerDetail`] would say:
//! the detail's fields and nothing else, each once, of its type, the required ones present, nested objects
//! included; strings of printable ASCII without a single escape (so every string is its own bytes, and no
//! character that renders as nothing can hide in one); no `null` (an absent field and a null one encode
//! alike); numbers and timestamps in the one form the long way writes them. Anything else takes the long way,
//! which stays the reference.

mod shape;

use crate::ids::RuntimeId;
use crate::worker::{InputAck, InputDisposition, WorkerDetail};

/// A worker's detail as JSON bytes checked by [`VerbatimDetail::check`].
#[derive(Debug, Clone)]
pub struct VerbatimDetail {
    bytes: bytes::Bytes,
    /// Where `end_reason`'s text sits in `bytes`, for checks on text a runtime wrote about itself.
    end_reason: Option<(usize, usize)>,
}

impl VerbatimDetail {
    /// `bytes` as a detail that can be forwarded for a runtime registered as `runtime_id` — with the id the
    /// remote gave itself written over with that one, the only change the backend makes to a clean detail —
    /// or `None` when they must be decoded and encoded again.
    pub fn check(bytes: bytes::Bytes, runtime_id: &RuntimeId) -> Option<Self> {
        let shape::Spans { runtime_id: (start, end), end_reason } = shape::detail(&bytes)?;
        if &bytes[start..end] == runtime_id.as_str().as_bytes() {
            return Some(VerbatimDetail { bytes, end_reason });
        }
        let mut relabelled = Vec::with_capacity(bytes.len() - (end - start) + runtime_id.as_str().len());
        relabelled.extend_from_slice(&bytes[..start]);
        relabelled.extend_from_slice(runtime_id.as_str().as_bytes());
        relabelled.extend_from_slice(&bytes[end..]);
        let shift = |at: usize| if at >= end { at + runtime_id.as_str().len() - (end - start) } else { at };
        let end_reason = end_reason.map(|(from, to)| (shift(from), shift(to)));
        Some(VerbatimDetail { bytes: relabelled.into(), end_reason })
    }

    /// The bytes, as they came.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, for an answer body.
    pub fn into_bytes(self) -> bytes::Bytes {
        self.bytes
    }

    /// The worker's end reason, if it has one.
    pub fn end_reason(&self) -> Option<&str> {
        // The bytes are ASCII, so any range of them is text.
        self.end_reason.map(|(start, end)| std::str::from_utf8(&self.bytes[start..end]).unwrap_or_default())
    }

    /// The detail decoded, for when something further along has to change it after all.
    pub fn decode(&self) -> Result<WorkerDetail, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }
}

/// An input ack read from `bytes` in the one plain shape a runtime writes it in, or `None` when they must go
/// to the general decoder; whenever this gives an ack, `serde_json` gives the same one.
pub fn read_input_ack(bytes: &[u8]) -> Option<InputAck> {
    shape::input_ack(bytes)
}

/// `ack` as JSON, byte for byte what `serde_json::to_vec` writes, at a quarter of its cost: the answer every
/// accepted input gets, from the runtime and again from the backend.
pub fn write_input_ack(ack: &InputAck) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(br#"{"worker_id":""#);
    // An id is letters, digits, '-' and '_': nothing in it is escaped.
    out.extend_from_slice(ack.worker_id.as_str().as_bytes());
    out.extend_from_slice(br#"","turn_id":"#);
    push_integer(&mut out, ack.turn_id);
    out.extend_from_slice(br#","disposition":""#);
    out.extend_from_slice(match ack.disposition {
        InputDisposition::Started => b"started".as_slice(),
        InputDisposition::Queued => b"queued",
        InputDisposition::Interrupted => b"interrupted",
    });
    out.push(b'"');
    if let Some(position) = ack.queue_position {
        out.extend_from_slice(br#","queue_position":"#);
        push_integer(&mut out, position.into());
    }
    out.extend_from_slice(br#","transcript_seq":"#);
    push_integer(&mut out, ack.transcript_seq);
    out.extend_from_slice(br#","event_seq":"#);
    push_integer(&mut out, ack.event_seq);
    out.push(b'}');
    out
}

/// Appends `value`'s decimal digits.
fn push_integer(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

#[cfg(test)]
mod tests;
