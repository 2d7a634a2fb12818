//! Answers handed on as the bytes their runtime sent, when that is provably the same as decoding and
//! encoding them again: the backend then forwards a remote's worker detail without touching it.
//!
//! [`VerbatimDetail::check`] accepts only bytes that say exactly what their decoded [`WorkerDetail`] would say:
//! printable ASCII without a single escape (so every string is its own bytes, and no character that renders as
//! nothing can hide in one), no `null` (an absent field and a null one encode alike), and a strict decode —
//! every field known, of its type, the required ones present, nested objects included — naming the runtime id
//! the caller expects. Anything else takes the long way, which stays the reference.

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use crate::Timestamp;
use crate::ids::{RuntimeId, WorkerId};
use crate::worker::{WorkerDetail, WorkerState};

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
        if !plain(&bytes) {
            return None;
        }
        let strict: StrictDetail<'_> = serde_json::from_slice(&bytes).ok()?;
        let fits = RuntimeId::is_valid(strict.runtime_id)
            && WorkerId::is_valid(strict.worker_id)
            && [strict.created_at, strict.updated_at].into_iter().all(utc_timestamp)
            && strict.current_turn.is_none_or(|turn| utc_timestamp(turn.started_at));
        if !fits {
            return None;
        }
        let end_reason = match strict.end_reason {
            Some(text) => Some(span(&bytes, text)?),
            None => None,
        };
        if strict.runtime_id == runtime_id.as_str() {
            return Some(VerbatimDetail { bytes, end_reason });
        }
        let (start, end) = span(&bytes, strict.runtime_id)?;
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

/// ASCII without a backslash (no escapes), a DEL, a `[` or the word `null` (a string holding either only costs
/// the long way). No field of a detail is an array, and serde would otherwise read a struct from one. Other
/// control characters need no look: JSON allows them only as whitespace between tokens, and the strict decode
/// refuses them anywhere else.
fn plain(bytes: &[u8]) -> bool {
    bytes.is_ascii()
        && memchr::memchr3(b'\\', 0x7f, b'[', bytes).is_none()
        && memchr::memmem::find(bytes, b"null").is_none()
}

/// Where `part`, a string the decoder borrowed from `whole`, sits in it; `None` if it does not.
fn span(whole: &[u8], part: &str) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some((start, end))
}

/// An instant written exactly as the long way writes one (`2026-12-01T10:00:00Z`): the parser also takes
/// other forms (a space for the `T`, no seconds, a leap second…) that clients may read otherwise or not at all.
fn utc_timestamp(text: &str) -> bool {
    text.parse::<Timestamp>().is_ok_and(|at| at.to_string() == text)
}

/// The detail's wire shape with nothing tolerated: what [`WorkerDetail`] encodes to, field for field. Strings
/// borrow from the input, which works because the input has no escapes. Most fields are only checked by
/// being decoded, never read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StrictDetail<'a> {
    runtime_id: &'a str,
    worker_id: &'a str,
    #[serde(default, borrow)]
    title: Option<&'a str>,
    state: WorkerState,
    profile: &'a str,
    executor: &'a str,
    #[serde(default, borrow)]
    model: Option<&'a str>,
    created_at: &'a str,
    updated_at: &'a str,
    transcript_len: u64,
    metadata: StringMap,
    #[serde(default, borrow)]
    current_turn: Option<StrictTurn<'a>>,
    queued_inputs: u32,
    #[serde(default, borrow)]
    end_reason: Option<&'a str>,
    usage: StrictUsage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StrictTurn<'a> {
    turn_id: u64,
    started_at: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StrictUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// Most metadata entries checked for repeats; a bigger map takes the long way, which keeps one of each.
const MAX_CHECKED_ENTRIES: usize = 64;

/// An object whose values are all strings and whose keys do not repeat (the long way would keep only the last
/// of a repeated key), checked without keeping it.
struct StringMap;

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Strings;
        impl<'de> Visitor<'de> for Strings {
            type Value = StringMap;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let mut keys: Vec<&'de str> = Vec::new();
                while let Some((key, _)) = map.next_entry::<&'de str, &'de str>()? {
                    if keys.len() == MAX_CHECKED_ENTRIES || keys.contains(&key) {
                        return Err(serde::de::Error::custom("a repeated or unchecked key"));
                    }
                    keys.push(key);
                }
                Ok(StringMap)
            }
        }
        deserializer.deserialize_map(Strings)
    }
}

#[cfg(test)]
mod tests;
