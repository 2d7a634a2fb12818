//! A reader for the one JSON shape a worker detail has when the long way would write it back unchanged:
//! written by hand because it runs on every forwarded detail, where a general decoder cost more than all
//! the forwarding saved.
//!
//! It accepts a subset of JSON: objects with the detail's fields (each at most once, the required ones
//! present), strings of printable ASCII without escapes, non-negative integers in their shortest form, and
//! timestamps in exactly the form the long way prints. No `null`, no arrays, no floats, no other field.

use crate::ids::{RuntimeId, WorkerId};
use crate::worker::{InputAck, InputDisposition};

/// Where the parts of a detail the backend reads or rewrites sit in its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spans {
    /// The runtime id's text.
    pub(super) runtime_id: (usize, usize),
    /// The end reason's text, when there is one.
    pub(super) end_reason: Option<(usize, usize)>,
}

/// The spans of `bytes` read as a detail, or `None` when they are not in the shape.
pub(super) fn detail(bytes: &[u8]) -> Option<Spans> {
    let mut scan = Scan { bytes, at: 0 };
    let mut seen = Fields::default();
    let mut runtime_id = None;
    let mut end_reason = None;
    scan.object(|scan, key| {
        let field = match key {
            b"runtime_id" => {
                let span = scan.string()?;
                RuntimeId::is_valid_bytes(scan.slice(span)).then_some(())?;
                runtime_id = Some(span);
                RUNTIME_ID
            }
            b"worker_id" => {
                let span = scan.string()?;
                WorkerId::is_valid_bytes(scan.slice(span)).then_some(())?;
                WORKER_ID
            }
            b"title" => scan.string().map(|_| TITLE)?,
            b"state" => {
                let span = scan.string()?;
                matches!(scan.slice(span), b"idle" | b"busy" | b"stopped" | b"failed").then_some(STATE)?
            }
            b"profile" => scan.string().map(|_| PROFILE)?,
            b"executor" => scan.string().map(|_| EXECUTOR)?,
            b"model" => scan.string().map(|_| MODEL)?,
            b"created_at" => scan.timestamp().map(|_| CREATED_AT)?,
            b"updated_at" => scan.timestamp().map(|_| UPDATED_AT)?,
            b"transcript_len" => scan.integer(u64::MAX).map(|_| TRANSCRIPT_LEN)?,
            b"metadata" => scan.string_map().map(|_| METADATA)?,
            b"current_turn" => scan.turn().map(|_| CURRENT_TURN)?,
            b"queued_inputs" => scan.integer(u32::MAX.into()).map(|_| QUEUED_INPUTS)?,
            b"end_reason" => {
                end_reason = Some(scan.string()?);
                END_REASON
            }
            b"usage" => scan.usage().map(|_| USAGE)?,
            _ => return None,
        };
        seen.first(field)
    })?;
    scan.end()?;
    seen.has(REQUIRED)?;
    Some(Spans { runtime_id: runtime_id?, end_reason })
}

/// `bytes` read as an input ack, or `None` when they are not in the shape (the general decoder then reads
/// them, and refuses what it must).
pub(super) fn input_ack(bytes: &[u8]) -> Option<InputAck> {
    let mut scan = Scan { bytes, at: 0 };
    let mut seen = Fields::default();
    let (mut worker_id, mut disposition, mut queue_position) = (None, None, None);
    let (mut turn_id, mut transcript_seq, mut event_seq) = (0, 0, 0);
    scan.object(|scan, key| {
        let field = match key {
            b"worker_id" => {
                let span = scan.string()?;
                // The bytes are printable ASCII, so they are text.
                worker_id = Some(WorkerId::parse(std::str::from_utf8(scan.slice(span)).ok()?).ok()?);
                ACK_WORKER_ID
            }
            b"turn_id" => {
                turn_id = scan.integer(u64::MAX)?;
                ACK_TURN_ID
            }
            b"disposition" => {
                let span = scan.string()?;
                disposition = Some(match scan.slice(span) {
                    b"started" => InputDisposition::Started,
                    b"queued" => InputDisposition::Queued,
                    b"interrupted" => InputDisposition::Interrupted,
                    _ => return None,
                });
                ACK_DISPOSITION
            }
            b"queue_position" => {
                queue_position = Some(u32::try_from(scan.integer(u64::MAX)?).ok()?);
                ACK_QUEUE_POSITION
            }
            b"transcript_seq" => {
                transcript_seq = scan.integer(u64::MAX)?;
                ACK_TRANSCRIPT_SEQ
            }
            b"event_seq" => {
                event_seq = scan.integer(u64::MAX)?;
                ACK_EVENT_SEQ
            }
            _ => return None,
        };
        seen.first(field)
    })?;
    scan.end()?;
    seen.has(ACK_REQUIRED)?;
    Some(InputAck {
        worker_id: worker_id?,
        turn_id,
        disposition: disposition?,
        queue_position,
        transcript_seq,
        event_seq,
    })
}

/// Which fields of an object were read, one bit each.
#[derive(Default)]
struct Fields(u32);

impl Fields {
    /// Marks `field` read; `None` when it already was (a decoder would refuse it or keep only one).
    fn first(&mut self, field: u32) -> Option<()> {
        (self.0 & field == 0).then(|| self.0 |= field)
    }

    /// `Some` when every field of `required` was read.
    fn has(&self, required: u32) -> Option<()> {
        (self.0 & required == required).then_some(())
    }
}

const RUNTIME_ID: u32 = 1;
const WORKER_ID: u32 = 1 << 1;
const TITLE: u32 = 1 << 2;
const STATE: u32 = 1 << 3;
const PROFILE: u32 = 1 << 4;
const EXECUTOR: u32 = 1 << 5;
const MODEL: u32 = 1 << 6;
const CREATED_AT: u32 = 1 << 7;
const UPDATED_AT: u32 = 1 << 8;
const TRANSCRIPT_LEN: u32 = 1 << 9;
const METADATA: u32 = 1 << 10;
const CURRENT_TURN: u32 = 1 << 11;
const QUEUED_INPUTS: u32 = 1 << 12;
const END_REASON: u32 = 1 << 13;
const USAGE: u32 = 1 << 14;
/// Every field but the optional ones. `usage` is required although the long way defaults it: a detail
/// without it re-encodes with zeros, so it is not forwarded as it came.
const REQUIRED: u32 = RUNTIME_ID
    | WORKER_ID
    | STATE
    | PROFILE
    | EXECUTOR
    | CREATED_AT
    | UPDATED_AT
    | TRANSCRIPT_LEN
    | METADATA
    | QUEUED_INPUTS
    | USAGE;

// An input ack's fields.
const ACK_WORKER_ID: u32 = 1;
const ACK_TURN_ID: u32 = 1 << 1;
const ACK_DISPOSITION: u32 = 1 << 2;
const ACK_QUEUE_POSITION: u32 = 1 << 3;
const ACK_TRANSCRIPT_SEQ: u32 = 1 << 4;
const ACK_EVENT_SEQ: u32 = 1 << 5;
/// The fields an input ack must have (only the queue position may be left out).
const ACK_REQUIRED: u32 = ACK_WORKER_ID | ACK_TURN_ID | ACK_DISPOSITION | ACK_TRANSCRIPT_SEQ | ACK_EVENT_SEQ;

/// Most metadata entries checked for repeats; a bigger map takes the long way, which keeps one of each.
const MAX_CHECKED_ENTRIES: usize = 64;

/// A position in the bytes being read.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips JSON whitespace.
    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    /// Reads `byte`, after any whitespace.
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.blank();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Whether the next token is `byte`, reading it if so.
    fn next_is(&mut self, byte: u8) -> bool {
        self.eat(byte).is_some()
    }

    /// Nothing but whitespace is left.
    fn end(&mut self) -> Option<()> {
        self.blank();
        (self.at == self.bytes.len()).then_some(())
    }

    /// The bytes of a span this reader found.
    fn slice(&self, (start, end): (usize, usize)) -> &'a [u8] {
        &self.bytes[start..end]
    }

    /// A string of printable ASCII without escapes; its span, quotes excluded.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.at;
        let end = start + plain_prefix(&self.bytes[start..]);
        // The first byte that is not plain must be the closing quote, not an escape or a byte out of range.
        (self.bytes.get(end) == Some(&b'"')).then_some(())?;
        self.at = end + 1;
        Some((start, end))
    }

    /// A non-negative integer no larger than `max`, written as an encoder writes it (no sign, no leading
    /// zero, no fraction or exponent).
    fn integer(&mut self, max: u64) -> Option<u64> {
        self.blank();
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let shortest = digits == 1 || (digits > 1 && self.bytes[start] != b'0');
        let ends = !matches!(self.peek(), Some(b'.' | b'e' | b'E'));
        (shortest && ends && value <= max).then_some(value)
    }

    /// A timestamp exactly as the long way prints one.
    fn timestamp(&mut self) -> Option<()> {
        let span = self.string()?;
        canonical_timestamp(&self.bytes[span.0..span.1]).then_some(())
    }

    /// `{ "key": value, ... }`, each value read by `field`, which is given the key (a string as
    /// [`Scan::string`] reads one).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.next_is(b'}') {
            return Some(());
        }
        loop {
            let (start, end) = self.string()?;
            self.eat(b':')?;
            let bytes = self.bytes;
            field(self, &bytes[start..end])?;
            if self.next_is(b'}') {
                return Some(());
            }
            self.eat(b',')?;
        }
    }

    /// An object of strings whose keys do not repeat (the long way would keep only the last of a repeated
    /// key).
    fn string_map(&mut self) -> Option<()> {
        let mut keys: Vec<&[u8]> = Vec::new();
        self.object(|scan, key| {
            if keys.len() == MAX_CHECKED_ENTRIES || keys.contains(&key) {
                return None;
            }
            keys.push(key);
            scan.string().map(drop)
        })
    }

    /// `current_turn`: its number and start.
    fn turn(&mut self) -> Option<()> {
        const TURN_ID: u32 = 1;
        const STARTED_AT: u32 = 1 << 1;
        let mut seen = Fields::default();
        self.object(|scan, key| match key {
            b"turn_id" => scan.integer(u64::MAX).and_then(|_| seen.first(TURN_ID)),
            b"started_at" => scan.timestamp().and_then(|_| seen.first(STARTED_AT)),
            _ => None,
        })?;
        seen.has(TURN_ID | STARTED_AT)
    }

    /// `usage`: its three counts.
    fn usage(&mut self) -> Option<()> {
        let start = self.at;
        if self.usage_as_written().is_some() {
            return Some(());
        }
        self.at = start;
        const PROMPT: u32 = 1;
        const COMPLETION: u32 = 1 << 1;
        const TOTAL: u32 = 1 << 2;
        let mut seen = Fields::default();
        self.object(|scan, key| {
            let field = match key {
                b"prompt_tokens" => PROMPT,
                b"completion_tokens" => COMPLETION,
                b"total_tokens" => TOTAL,
                _ => return None,
            };
            scan.integer(u64::MAX)?;
            seen.first(field)
        })?;
        seen.has(PROMPT | COMPLETION | TOTAL)
    }

    /// `usage` as a runtime writes it: the three keys in their order, no spaces. A third of a detail's keys,
    /// read here without looking each one up; any other form is read by [`Scan::usage`] in full.
    fn usage_as_written(&mut self) -> Option<()> {
        self.blank();
        self.literal(b"{\"prompt_tokens\":")?;
        self.integer(u64::MAX)?;
        self.literal(b",\"completion_tokens\":")?;
        self.integer(u64::MAX)?;
        self.literal(b",\"total_tokens\":")?;
        self.integer(u64::MAX)?;
        self.literal(b"}")
    }

    /// Reads exactly `text`.
    fn literal(&mut self, text: &[u8]) -> Option<()> {
        self.bytes[self.at..].starts_with(text).then(|| self.at += text.len())
    }
}

/// How many bytes at the start of `bytes` are plain string content: printable ASCII other than `"` and `\\`.
/// Eight bytes at a time, as most of a detail's bytes are inside strings.
fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    // A byte's high bit is set in `below(w, n)` where the byte is below `n` (n <= 0x80), and in `equal(w, b)`
    // where it is `b`. Borrows only carry upward from a byte that matched, so the lowest marked byte is exact.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w;
    let equal = |w: u64, b: u8| below(w ^ (ONES * u64::from(b)), 1);
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // DEL becomes 0x80 when one is added; bytes beyond ASCII have the high bit already.
        let beyond = w.wrapping_add(ONES) | w;
        let stop = (below(w, 0x20) | equal(w, b'"') | equal(w, b'\\') | beyond) & HIGH;
        if stop != 0 {
            return at + (stop.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes[at..].iter().take_while(|&&b| is_plain(b)).count()
}

/// Printable ASCII other than `"` and `\\`.
fn is_plain(byte: u8) -> bool {
    matches!(byte, 0x20..=0x7e) && byte != b'"' && byte != b'\\'
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a real date and time of day, the fraction's last digit not zero:
/// the form a timestamp prints in, so one that parses to the same instant but reads otherwise (an offset,
/// no seconds, a leap second, trailing zeros) takes the long way. Years stop at 9998, short of where the
/// timestamp type's range ends.
pub(super) fn canonical_timestamp(text: &[u8]) -> bool {
    let Some((head, fraction)) = text.split_first_chunk::<19>() else { return false };
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        head[range].iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
    };
    let punctuated = head[4] == b'-' && head[7] == b'-' && head[10] == b'T' && head[13] == b':' && head[16] == b':';
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
        (number(0..4), number(5..7), number(8..10), number(11..13), number(14..16), number(17..19))
    else {
        return false;
    };
    let fraction_fits = match fraction {
        [b'Z'] => true,
        [b'.', digits @ .., last, b'Z'] => {
            digits.len() < 9 && digits.iter().all(u8::is_ascii_digit) && matches!(last, b'1'..=b'9')
        }
        _ => false,
    };
    punctuated
        && fraction_fits
        && (1..=9998).contains(&year)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
}

/// Days in `month` of `year` (proleptic Gregorian), 0 for a month that does not exist.
fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn plain_prefix_stops_where_a_byte_by_byte_reader_stops(
            bytes in proptest::collection::vec(
                prop_oneof![3 => 0x20u8..0x7f, 1 => any::<u8>(), 1 => proptest::sample::select(b"\"\\\x7f\x1f\x80\xff".to_vec())],
                0..40,
            )
        ) {
            let expected = bytes.iter().position(|&b| !is_plain(b)).unwrap_or(bytes.len());
            prop_assert_eq!(plain_prefix(&bytes), expected);
        }
    }

    #[test]
    fn usage_reads_alike_as_written_or_otherwise() {
        let read = |text: &str| {
            let mut scan = Scan { bytes: text.as_bytes(), at: 0 };
            scan.usage().and_then(|()| scan.end())
        };
        for usage in [
            r#"{"prompt_tokens":1,"completion_tokens":20,"total_tokens":21}"#,
            r#"{"total_tokens":21,"prompt_tokens":1,"completion_tokens":20}"#,
            r#" { "prompt_tokens" : 1 , "completion_tokens":20,"total_tokens":21 } "#,
        ] {
            assert_eq!(read(usage), Some(()), "{usage}");
        }
        for usage in [
            r#"{"prompt_tokens":1,"completion_tokens":20}"#,
            r#"{"prompt_tokens":01,"completion_tokens":20,"total_tokens":21}"#,
            r#"{"prompt_tokens":1,"completion_tokens":20,"total_tokens":21,"total_tokens":21}"#,
            r#"{"prompt_tokens":1,"completion_tokens":20,"total_tokens":2.5}"#,
            r#"{"prompt_tokens":1,"completion_tokens":20,"total_tokens":21"#,
        ] {
            assert_eq!(read(usage), None, "{usage}");
        }
    }

    #[test]
    fn plain_bytes_are_printable_ascii_but_quote_and_backslash() {
        let plain: Vec<u8> = (0..=255u8).filter(|&b| is_plain(b)).collect();
        let expected: Vec<u8> = (b' '..=b'~').filter(|&b| b != b'"' && b != b'\\').collect();
        assert_eq!(plain, expected);
        for stop in [b'"', b'\\', 0x00, 0x1f, 0x7f, 0x80, 0xff] {
            for at in 0..16 {
                let mut bytes = vec![b'a'; 16];
                bytes[at] = stop;
                assert_eq!(plain_prefix(&bytes), at, "{stop:#x} at {at}");
            }
        }
    }
}
