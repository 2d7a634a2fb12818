//! The contract suite against `MockSource` passing every call to an embedded runtime: the mock the other
//! tests plant text and failures with is held to the same behaviour as every real source when it passes.

use std::sync::Arc;

use runtime_api::{RuntimeId, RuntimeSource};
use runtime_core::{MemoryStore, ProfileSet, RuntimeConfig};
use tests::contract::{Fixture, contract_suite, setup};
use tests::harness::embedded;
use tests::mock::MockSource;

async fn passing_mock() -> Fixture {
    let mut config = RuntimeConfig::new(RuntimeId::parse("mocked").unwrap(), "Mocked");
    config.event_retention = setup::EVENT_RETENTION;
    config.queue_capacity = setup::QUEUE_CAPACITY;
    config.heartbeat_interval = setup::HEARTBEAT;
    let (model, toml) = setup::model_profiles().await;
    let inner = embedded(config, ProfileSet::from_toml(&toml).unwrap(), Arc::new(MemoryStore::new())).await;
    let mock: Arc<dyn RuntimeSource> = Arc::new(MockSource::passing(inner));
    Fixture::new(mock).keeping(model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_mock_source_passes_the_contract() {
    contract_suite(passing_mock).await;
}
