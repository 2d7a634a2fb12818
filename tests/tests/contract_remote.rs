//! The contract suite against the remote-http source pointed at a real `worker-runtime` process.

use std::sync::Arc;

use runtime_api::{RuntimeId, RuntimeSource};
use secrets::SecretRef;
use sources::remote_http::{RemoteHttpSource, RemoteOptions, RemoteTimeouts};
use tests::contract::{Fixture, contract_suite, setup};
use tests::harness::RuntimeProcess;

async fn remote() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.toml");
    let (model, toml) = setup::model_profiles().await;
    std::fs::write(&profiles, toml).unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "contract-token\n").unwrap();
    let process = RuntimeProcess::start([
        "--runtime-id".into(),
        "remote-contract".into(),
        "--profiles".into(),
        profiles.into_os_string(),
        "--token-file".into(),
        token.clone().into_os_string(),
        "--event-retention".into(),
        setup::EVENT_RETENTION.to_string().into(),
        "--queue-capacity".into(),
        setup::QUEUE_CAPACITY.to_string().into(),
        "--heartbeat-ms".into(),
        setup::HEARTBEAT.as_millis().to_string().into(),
    ]);
    let options = RemoteOptions {
        // Registered under another id than the runtime calls itself, as a backend may.
        runtime_id: RuntimeId::parse("remote").unwrap(),
        display_name: "Remote".into(),
        endpoint: process.base.parse().unwrap(),
        token_ref: Some(SecretRef::File(token)),
        ca_file: None,
        timeouts: RemoteTimeouts::default(),
    };
    let source: Arc<dyn RuntimeSource> = Arc::new(RemoteHttpSource::new(options).unwrap());
    Fixture::new(source).keeping((process, dir, model))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_http_source_passes_the_contract_against_a_real_runtime() {
    contract_suite(remote).await;
}
