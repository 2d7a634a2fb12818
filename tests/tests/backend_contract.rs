//! The contract suite through the backend's Browser API (real HTTP and WebSocket) against the embedded
//! runtime and against a remote `worker-runtime`: a runtime behaves the same seen from a Browser as it does
//! in-process or over its own API.

use std::sync::Arc;

use runtime_api::RuntimeId;
use runtime_core::{MemoryStore, ProfileSet, RuntimeConfig};
use tests::browser::BrowserClient;
use tests::contract::{Fixture, contract_suite, setup};
use tests::harness::{RuntimeProcess, embedded, serve_backend, serve_backend_with};

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

/// A real `worker-runtime` registered in a backend as `dev`, seen through the Browser API.
async fn remote_through_the_backend() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (model, toml) = setup::model_profiles().await;
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(&profiles, toml).unwrap();
    let process = RuntimeProcess::start([
        "--runtime-id".into(),
        "remote-contract".into(),
        "--profiles".into(),
        profiles.into_os_string(),
        "--event-retention".into(),
        setup::EVENT_RETENTION.to_string().into(),
        "--queue-capacity".into(),
        setup::QUEUE_CAPACITY.to_string().into(),
        "--heartbeat-ms".into(),
        setup::HEARTBEAT.as_millis().to_string().into(),
    ]);
    let config = format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{}\"\n", process.base);
    let served = serve_backend_with(&config, |builder| builder.without_embedded()).await;
    let client = BrowserClient::connect(&served.base, "dev").await;
    Fixture::new(Arc::new(client)).keeping((served, process, model, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_runtime_passes_the_contract_through_the_browser_api() {
    contract_suite(remote_through_the_backend).await;
}
