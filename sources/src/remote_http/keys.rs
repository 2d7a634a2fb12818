//! Idempotency keys for the commands a Browser sent without one.

use std::sync::atomic::{AtomicU64, Ordering};

use runtime_api::IdempotencyKey;

/// Keys unique to one source's life: a ULID taken when the source is made (unique across restarts and
/// backends, as a runtime remembers keys for a day) and a counter. A ULID per command cost a clock read,
/// randomness and base-32 encoding on every input; this costs one atomic add.
pub(super) struct CommandKeys {
    prefix: String,
    next: AtomicU64,
}

impl CommandKeys {
    /// Keys starting with a fresh ULID.
    pub(super) fn new() -> Self {
        CommandKeys { prefix: ulid::Ulid::new().to_string(), next: AtomicU64::new(1) }
    }

    /// The next key: the prefix, a dash and the counter in hex (`01JF3…Q8-1a`).
    pub(super) fn next(&self) -> IdempotencyKey {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
        let mut key = String::with_capacity(self.prefix.len() + 1 + digits);
        key.push_str(&self.prefix);
        key.push('-');
        for at in (0..digits).rev() {
            key.push(char::from(b"0123456789abcdef"[(n >> (at * 4)) as usize & 0xf]));
        }
        IdempotencyKey::parse(key).expect("a ULID, a dash and hex digits make a key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_within_a_source_and_between_sources() {
        let (one, other) = (CommandKeys::new(), CommandKeys::new());
        let first = one.next();
        assert!(first.as_str().ends_with("-1"), "{first}");
        assert_ne!(first, one.next());
        assert_ne!(first, other.next(), "each source has its own prefix");
        for _ in 0..14 {
            one.next();
        }
        assert!(one.next().as_str().ends_with("-11"), "the counter is written in hex");
    }
}
