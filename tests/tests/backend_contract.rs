//! The contract suite through the backend's Browser API (real HTTP and WebSocket) against the embedded
//! runtime: the runtime behaves the same seen from a Browser as it does in-process.

use std::sync::Arc;

use runtime_api::RuntimeId;
use runtime_core::{MemoryStore, ProfileSet, RuntimeConfig};
use tests::browser::BrowserClient;
use tests::contract::{Fixture, contract_suite, setup};
use tests::harness::{embedded, serve_backend};

async fn through_the_backend() -> Fixture {
    let mut config = RuntimeConfig::new(RuntimeId::parse("backend-internal").unwrap(), "Backend internal");
    config.event_retention = setup::EVENT_RETENTION;
    config.queue_capacity = setup::QUEUE_CAPACITY;
    config.heartbeat_interval = setup::HEARTBEAT;
    let (model, toml) = setup::model_profiles().await;
    let profiles = ProfileSet::from_toml(&toml).unwrap();
    let source = embedded(config, profiles, Arc::new(MemoryStore::new())).await;
    let served = serve_backend(|builder| builder.without_embedded().source(source)).await;
    let client = BrowserClient::connect(&served.base, "backend-internal").await;
    Fixture::new(Arc::new(client)).keeping((served, model))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_runtime_passes_the_contract_through_the_browser_api() {
    contract_suite(through_the_backend).await;
}
