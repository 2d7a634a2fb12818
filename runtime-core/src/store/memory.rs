//! The memory store: keeps nothing, so the runtime's own state is the only copy.

use async_trait::async_trait;

use super::{Durable, Record, Store, StoreError, StoreSnapshot};

/// A store for runtimes whose workers need not outlive the process.
///
/// Every batch is "durable" at once, and a new store starts a new event log (a fresh `log_id`), so a
/// cursor from an earlier process is recognised as foreign instead of silently resuming at the wrong place.
#[derive(Debug)]
pub struct MemoryStore {
    log_id: String,
}

impl MemoryStore {
    /// A new, empty store with a fresh log id.
    pub fn new() -> Self {
        MemoryStore { log_id: format!("mem-{}", ulid::Ulid::new().to_string().to_lowercase()) }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn load(&self) -> Result<StoreSnapshot, StoreError> {
        Ok(StoreSnapshot::empty(self.log_id.clone()))
    }

    fn append(&self, _batch: Vec<Record>) -> Durable {
        Durable::done()
    }

    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
