//! The read-only contract against a local-compat view of a stopped runtime's fs-store directory.

use std::sync::Arc;

use runtime_api::{RuntimeId, RuntimeSource};
use runtime_core::store::fs::{FsOptions, FsStore};
use runtime_core::{ProfileSet, RuntimeConfig};
use sources::LocalCompatSource;
use tests::contract::{Fixture, contract_suite_read_only, read_only, setup};
use tests::harness::embedded;

async fn view_of_a_stopped_runtime() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path(), FsOptions::default()).unwrap());
    let config = RuntimeConfig::new(RuntimeId::parse("writer").unwrap(), "Writer");
    let profiles = ProfileSet::from_toml(setup::PROFILES_TOML).unwrap();
    let writer = embedded(config, profiles, store.clone()).await;
    read_only::seed(&writer).await;
    runtime_core::Store::close(&*store).await.unwrap();
    drop(writer);
    let view = LocalCompatSource::new(RuntimeId::parse("old-runtime").unwrap(), "Old runtime", dir.path());
    let view: Arc<dyn RuntimeSource> = Arc::new(view);
    Fixture::new(view).keeping(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_compat_view_passes_the_read_only_contract() {
    contract_suite_read_only(view_of_a_stopped_runtime).await;
}
