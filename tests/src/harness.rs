//! Building sources for tests and waiting on them.

use std::sync::Arc;

use runtime_api::{RuntimeSource, WorkerDetail, WorkerId};
use runtime_core::{ProfileSet, Runtime, RuntimeConfig, Store};
use sources::EmbeddedSource;

use crate::doubles::WAIT;

/// An embedded source over a fresh runtime.
pub async fn embedded(config: RuntimeConfig, profiles: ProfileSet, store: Arc<dyn Store>) -> Arc<dyn RuntimeSource> {
    let runtime = Runtime::start(config, profiles, store).await.expect("runtime starts");
    Arc::new(EmbeddedSource::new(runtime))
}

/// Polls a worker through `source` until `done` holds, failing the test after [`WAIT`].
pub async fn wait_until(
    source: &dyn RuntimeSource,
    worker: &WorkerId,
    done: impl Fn(&WorkerDetail) -> bool,
) -> WorkerDetail {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let detail = source.get(worker).await.expect("get");
        if done(&detail) {
            return detail;
        }
        assert!(tokio::time::Instant::now() < deadline, "worker never reached the expected state: {detail:?}");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}
