//! Building sources for tests and waiting on them.

use std::sync::Arc;

use runtime_api::{RuntimeSource, WorkerDetail, WorkerId};
use runtime_core::{ProfileSet, Runtime, RuntimeConfig, Store};
use sources::EmbeddedSource;

use crate::doubles::WAIT;

/// An address where nothing listens, so a connection is refused: a privileged port no test machine serves.
/// Binding port 0 and releasing it instead would race with every other test picking ports.
pub const NOTHING_LISTENS: &str = "127.0.0.1:1";

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

/// Calls `check` until it returns `Some`, failing the test (naming `what`) after [`WAIT`]: for what the
/// backend does in its own time, such as a health probe noticing a runtime came back.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen within {WAIT:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
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

impl ServedBackend {
    /// The workspace directory the backend was started in.
    pub fn workspace(&self) -> &std::path::Path {
        self._workspace.path()
    }
}

impl Drop for ServedBackend {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A configuration from a workspace whose `.yoi/workspace-backend.toml` holds `toml`, bound to a free
/// loopback port.
pub fn backend_config(toml: &str) -> (backend::config::BackendConfig, tempfile::TempDir) {
    let workspace = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(workspace.path().join(".yoi")).unwrap();
    std::fs::write(workspace.path().join(".yoi/workspace-backend.toml"), toml).unwrap();
    let config = backend::config::load(workspace.path(), &loopback()).expect("the configuration loads");
    (config, workspace)
}

/// The command line of every test backend: a free loopback port.
fn loopback() -> backend::config::CliOverrides {
    backend::config::CliOverrides { bind: Some("127.0.0.1:0".parse().unwrap()), ..Default::default() }
}

/// Builds and serves a backend on the default configuration; `customize` adds sources or leaves the
/// embedded runtime out.
pub async fn serve_backend(
    customize: impl FnOnce(backend::BackendBuilder) -> backend::BackendBuilder,
) -> ServedBackend {
    serve_backend_with("", customize).await
}

/// Builds and serves a backend whose configuration file holds `toml`.
pub async fn serve_backend_with(
    toml: &str,
    customize: impl FnOnce(backend::BackendBuilder) -> backend::BackendBuilder,
) -> ServedBackend {
    let (config, workspace) = backend_config(toml);
    // Reloads read the configuration with the same command line, as the binary's do.
    let builder = backend::Backend::builder(config).cli(loopback());
    let backend = customize(builder).build().await.expect("backend builds");
    let registry = backend.registry().clone();
    let listening = backend.bind().await.expect("backend binds");
    let base = format!("http://{}", listening.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(listening.serve(async move {
        let _ = stopped.await;
    }));
    ServedBackend { base, registry, stop: Some(stop), _workspace: workspace }
}

/// The path of one of the workspace's binaries, built first if needed.
///
/// Builds every binary of the workspace with one `cargo build --workspace --bins` per test process: the same
/// command `scripts/test` runs before the tests, so there it only checks they are fresh. (Building a single
/// package would resolve features differently and recompile much of the tree inside a test.)
pub fn binary(name: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--workspace", "--bins"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the workspace's binaries failed");
    });
    // Test executables live in target/<profile>/deps; binaries one level up.
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(|deps| deps.parent()).expect("target dir").join(name)
}

/// Builds both binaries in release and returns the directory holding them.
pub fn release_binaries() -> std::path::PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "runtime-core", "--bin", "worker-runtime"])
        .args(["-p", "backend", "--bin", "workspace-backend"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the release binaries failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release")
}

/// Starts `workspace-backend` with `args` in a fresh workspace, expecting it to refuse to start before it
/// listens; returns what it wrote on standard error.
pub fn backend_refuses_to_start(args: &[&str]) -> String {
    let workspace = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(binary("workspace-backend"))
        .args(args)
        .arg("--workspace")
        .arg(workspace.path())
        .output()
        .expect("the backend runs");
    assert!(!output.status.success(), "it started with {args:?}");
    assert!(output.stdout.is_empty(), "it listened with {args:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `worker-runtime` process for the length of a test; killed when dropped.
pub struct RuntimeProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: std::process::Child,
    args: Vec<std::ffi::OsString>,
}

impl RuntimeProcess {
    /// Starts `worker-runtime` on a free loopback port with `args`, and waits for its listening line.
    pub fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        Self::start_on("127.0.0.1:0", args)
    }

    /// Starts `worker-runtime` listening on `bind` with `args`.
    pub fn start_on(bind: &str, args: Vec<std::ffi::OsString>) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(binary("worker-runtime"))
            .args(["--bind", bind, "--log", "warn"])
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("worker-runtime starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("no listening line: {line:?}"));
        RuntimeProcess { base: base.to_owned(), child, args }
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base.trim_start_matches("http://").parse().unwrap()
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the process and starts it again with the same arguments on the same address.
    pub fn restart(&mut self) {
        self.kill();
        let bind = self.addr().to_string();
        // The old socket may linger for a moment.
        for _ in 0..50 {
            if std::net::TcpListener::bind(&bind).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        *self = Self::start_on(&bind, std::mem::take(&mut self.args));
    }
}

impl Drop for RuntimeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A workspace binary started on a free loopback port with its standard error captured, for tests that
/// check what it logs; killed when dropped.
pub struct LoggedProcess {
    /// `http://127.0.0.1:PORT`, from its listening line.
    pub base: String,
    child: std::process::Child,
    logs: Option<std::thread::JoinHandle<String>>,
}

impl LoggedProcess {
    /// Starts the workspace binary `name` with `--bind 127.0.0.1:0` and `args`; `configure` may add
    /// environment variables.
    pub fn start<I, S>(name: &str, args: I, configure: impl FnOnce(&mut std::process::Command)) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Self::start_path(&binary(name), args, configure)
    }

    /// [`LoggedProcess::start`] for the binary at `path` (a release build, say).
    pub fn start_path<I, S>(path: &std::path::Path, args: I, configure: impl FnOnce(&mut std::process::Command)) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        use std::io::BufRead;
        let name = path.display();
        let mut command = std::process::Command::new(path);
        command
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        configure(&mut command);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!("{name} printed no listening line: {line:?}\n{}", logs.join().unwrap_or_default());
        };
        LoggedProcess { base: base.to_owned(), child, logs: Some(logs) }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops it with SIGTERM, as an operator would, and returns everything it logged.
    pub fn stop(mut self) -> String {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        self.logs.take().map(|logs| logs.join().unwrap_or_default()).unwrap_or_default()
    }
}

impl Drop for LoggedProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
