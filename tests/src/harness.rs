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

/// A backend serving on a real loopback socket for the length of a test.
pub struct ServedBackend {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The registry, to add and remove sources while serving.
    pub registry: Arc<backend::registry::RuntimeRegistry>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _workspace: tempfile::TempDir,
}

impl Drop for ServedBackend {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A configuration from an empty workspace, bound to a free loopback port.
pub fn backend_config() -> (backend::config::BackendConfig, tempfile::TempDir) {
    let workspace = tempfile::tempdir().expect("temp dir");
    let cli = backend::config::CliOverrides { bind: Some("127.0.0.1:0".parse().unwrap()) };
    let config = backend::config::load(workspace.path(), &cli).expect("default configuration loads");
    (config, workspace)
}

/// Builds and serves a backend; `customize` adds sources or leaves the embedded runtime out.
pub async fn serve_backend(
    customize: impl FnOnce(backend::BackendBuilder) -> backend::BackendBuilder,
) -> ServedBackend {
    let (config, workspace) = backend_config();
    let backend = customize(backend::Backend::builder(config)).build().await.expect("backend builds");
    let registry = backend.registry().clone();
    let listening = backend.bind().await.expect("backend binds");
    let base = format!("http://{}", listening.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(listening.serve(async move {
        let _ = stopped.await;
    }));
    ServedBackend { base, registry, stop: Some(stop), _workspace: workspace }
}

/// The path of one of the workspace's binaries, built first if this test run did not build it.
pub fn binary(package: &str, name: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap();
    if !built.iter().any(|b| b == name) {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--package", package, "--bin", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {name} failed");
        built.push(name.to_owned());
    }
    // Test executables live in target/<profile>/deps; binaries one level up.
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(|deps| deps.parent()).expect("target dir").join(name)
}
