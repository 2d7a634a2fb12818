//! The contract suite against the embedded source.

use std::sync::Arc;

use runtime_api::RuntimeId;
use runtime_core::{MemoryStore, ProfileSet, RuntimeConfig};
use tests::contract::{Fixture, contract_suite, setup};
use tests::harness::embedded;

async fn embedded_fixture() -> Fixture {
    let mut config = RuntimeConfig::new(RuntimeId::parse("backend-internal").unwrap(), "Backend internal");
    config.event_retention = setup::EVENT_RETENTION;
    config.queue_capacity = setup::QUEUE_CAPACITY;
    config.heartbeat_interval = setup::HEARTBEAT;
    let (model, toml) = setup::model_profiles().await;
    let profiles = ProfileSet::from_toml(&toml).unwrap();
    Fixture::new(embedded(config, profiles, Arc::new(MemoryStore::new())).await).keeping(model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_source_passes_the_contract() {
    contract_suite(embedded_fixture).await;
}
