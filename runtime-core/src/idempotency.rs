//! The commands a runtime remembers by idempotency key, so a client that did not hear an answer can send
//! the same command again and get the first answer instead of a second effect.
//!
//! A key is remembered from the moment its command is committed — in the same store batch as the
//! command's own records — and answered only once that batch is durable, so a repeat never gets an ack the
//! store could still lose. Keys older than the retention window, and the oldest beyond its capacity, are
//! forgotten.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use runtime_api::{ApiError, CommandAck, IdempotencyKey, Timestamp};

use crate::store::{CommandRecord, Durable, KeyRetention};

/// How many locks keyed commands are spread over: a command holds its key's lock through its whole
/// synchronous part, and commands under other keys almost always hold other locks, so they run side by side.
const KEY_LOCKS: usize = 64;

/// Every remembered key. Two requests with one key never both run: each holds the lock its key hashes to
/// from the lookup to the remembering. The table itself is locked only for each lookup and insert.
pub(crate) struct Remembered {
    retention: KeyRetention,
    key_locks: Box<[Mutex<()>]>,
    hasher: RandomState,
    table: Mutex<Table>,
}

/// The keys, and the order they were remembered in (for forgetting).
#[derive(Default)]
pub(crate) struct Table {
    by_key: HashMap<IdempotencyKey, Entry>,
    /// The records in the order they were remembered; each holds its key and time, so nothing is copied.
    order: VecDeque<Arc<CommandRecord>>,
}

struct Entry {
    record: Arc<CommandRecord>,
    /// Resolves once the record is durable.
    durable: Durable,
}

/// A repeat of a remembered key: its first ack, to be given once `durable` resolves.
pub(crate) struct Repeat {
    pub(crate) ack: CommandAck,
    pub(crate) durable: Durable,
}

impl Remembered {
    /// The keys a store loaded, minus those already past `retention`.
    pub(crate) fn new(retention: KeyRetention, loaded: Vec<Arc<CommandRecord>>) -> Self {
        let mut table = Table::default();
        for record in loaded {
            table.insert(record, Durable::done());
        }
        table.prune(retention, Timestamp::now());
        let key_locks = (0..KEY_LOCKS).map(|_| Mutex::new(())).collect();
        Remembered { retention, key_locks, hasher: RandomState::new(), table: Mutex::new(table) }
    }

    /// The table for commands under `key`, which no other command under `key` can use until this is
    /// dropped; keep it only for the synchronous part of one command.
    pub(crate) fn lock(&self, key: &IdempotencyKey) -> Locked<'_> {
        let slot = self.hasher.hash_one(key) as usize % self.key_locks.len();
        Locked { _key: self.key_locks[slot].lock(), table: &self.table, retention: self.retention }
    }
}

/// The table, with one key's lock held.
pub(crate) struct Locked<'a> {
    _key: MutexGuard<'a, ()>,
    table: &'a Mutex<Table>,
    retention: KeyRetention,
}

impl Locked<'_> {
    /// The first answer to `key`, if it is remembered; `invalid_request` when it was used for a different
    /// request (`fingerprint`), which must not be answered with another command's ack.
    pub(crate) fn repeat(&self, key: &IdempotencyKey, fingerprint: &str) -> Result<Option<Repeat>, ApiError> {
        // Pruning waits for `remember`, once per command; a key past the window is forgotten here already.
        let table = self.table.lock();
        let Some(entry) = table.by_key.get(key) else { return Ok(None) };
        if entry.record.at < self.retention.oldest(Timestamp::now()) {
            return Ok(None);
        }
        if entry.record.fingerprint != fingerprint {
            let message = format!(
                "the Idempotency-Key {key} was already used for a different {} request; use a new key",
                entry.record.ack.name()
            );
            return Err(ApiError::invalid(message).with_field("Idempotency-Key"));
        }
        Ok(Some(Repeat { ack: entry.record.ack.clone(), durable: entry.durable.clone() }))
    }

    /// Remembers a command just committed; `durable` resolves with its batch.
    pub(crate) fn remember(&self, record: Arc<CommandRecord>, durable: Durable) {
        // The record was stamped as its command committed, a moment ago: the clock need not be read again.
        let now = record.at;
        let mut table = self.table.lock();
        table.insert(record, durable);
        table.prune(self.retention, now);
    }
}

impl Table {
    fn insert(&mut self, record: Arc<CommandRecord>, durable: Durable) {
        self.order.push_back(record.clone());
        self.by_key.insert(record.key.clone(), Entry { record, durable });
    }

    /// Forgets keys past the window, then the oldest beyond capacity. Keys arrive in time order (a loaded
    /// store hands them over oldest first), so both are at the front.
    fn prune(&mut self, retention: KeyRetention, now: Timestamp) {
        let oldest = retention.oldest(now);
        while let Some(record) = self.order.front() {
            let expired = record.at < oldest || self.by_key.len() > retention.capacity;
            if !expired {
                break;
            }
            // A key remembered twice (a reload) is removed with its newest entry only.
            if self.by_key.get(&record.key).is_some_and(|entry| Arc::ptr_eq(&entry.record, record)) {
                self.by_key.remove(&record.key);
            }
            self.order.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use runtime_api::{CancelAck, CancelOutcome, WorkerId, WorkerState};

    use super::*;

    fn record(key: &str, at: Timestamp) -> Arc<CommandRecord> {
        let ack = CommandAck::Cancel(CancelAck {
            worker_id: WorkerId::parse("w-1").unwrap(),
            outcome: CancelOutcome::NothingToCancel,
            turn_id: None,
            dropped_queued: 0,
            state: WorkerState::Idle,
        });
        Arc::new(CommandRecord { key: IdempotencyKey::parse(key).unwrap(), fingerprint: "f".into(), at, ack })
    }

    fn key(raw: &str) -> IdempotencyKey {
        IdempotencyKey::parse(raw).unwrap()
    }

    #[test]
    fn a_repeat_gets_the_first_ack_and_another_request_is_refused() {
        let remembered = Remembered::new(KeyRetention::default(), Vec::new());
        let table = remembered.lock(&key("a"));
        assert!(table.repeat(&key("a"), "f").unwrap().is_none());
        table.remember(record("a", Timestamp::now()), Durable::done());
        assert!(matches!(table.repeat(&key("a"), "f").unwrap(), Some(Repeat { ack: CommandAck::Cancel(_), .. })));
        let refused = table.repeat(&key("a"), "another request").err().unwrap();
        assert_eq!(refused.field.as_deref(), Some("Idempotency-Key"));
    }

    #[test]
    fn keys_past_the_window_or_the_capacity_are_forgotten() {
        let retention = KeyRetention { window: Duration::from_secs(60), capacity: 2 };
        let now = Timestamp::now();
        let old = now.checked_sub(jiff::SignedDuration::from_secs(120)).unwrap();
        let remembered = Remembered::new(retention, vec![record("old", old), record("kept", now)]);
        // One key's lock; the table answers for every key alike.
        let table = remembered.lock(&key("kept"));
        assert!(table.repeat(&key("old"), "f").unwrap().is_none(), "older than the window");
        assert!(table.repeat(&key("kept"), "f").unwrap().is_some());
        table.remember(record("b", now), Durable::done());
        table.remember(record("c", now), Durable::done());
        assert!(table.repeat(&key("kept"), "f").unwrap().is_none(), "the oldest beyond capacity");
        assert!(table.repeat(&key("c"), "f").unwrap().is_some());
    }
}
