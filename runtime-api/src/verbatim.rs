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
use crate::worker::WorkerDetail;

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

#[cfg(test)]
mod tests;
