//! When to try again: jittered exponential backoff, and the provider's `Retry-After`.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Pause before the first retry; doubled for each later one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// Longest backoff pause (a provider's `Retry-After` may ask for more).
const MAX_PAUSE: Duration = Duration::from_secs(8);

/// How long to wait before retry number `attempt + 1`: at least what the provider asked for, otherwise a
/// backoff jittered between half and all of its step, so workers failing together do not retry together.
pub(super) fn pause(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let step = FIRST_PAUSE.saturating_mul(1 << attempt.min(16)).min(MAX_PAUSE);
    let jittered = step / 2 + step.mul_f64(jitter() / 2.0);
    retry_after.map_or(jittered, |asked| asked.max(jittered))
}

/// `Retry-After` as seconds or as an HTTP date; `None` when absent or unreadable.
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// A number in `0..1` that differs between calls and processes, without a random number crate.
fn jitter() -> f64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let hash = RandomState::new().hash_one(CALLS.fetch_add(1, Ordering::Relaxed));
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_a_longer_retry_after() {
        for attempt in 0..6 {
            let step = FIRST_PAUSE.saturating_mul(1 << attempt).min(MAX_PAUSE);
            let pause = pause(attempt, None);
            assert!(pause >= step / 2 && pause <= step, "attempt {attempt}: {pause:?}");
        }
        assert_eq!(pause(0, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert!(pause(3, Some(Duration::ZERO)) >= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a date in the past means now");
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
