//! `worker-runtime`: hosts workers in their own process and serves them over the runtime API (SPEC §4).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use api_http::ServeLimits;
use clap::{Parser, ValueEnum};
use runtime_api::RuntimeId;
use runtime_core::server::{self, AllowedHosts, BearerToken, ServerOptions};
use runtime_core::store::KeyRetention;
use runtime_core::store::fs::{FsOptions, FsStore};
use runtime_core::{MemoryStore, ProfileSet, Runtime, RuntimeConfig, Store};

// Request handling allocates many small, short-lived values across threads, where the system allocator's
// arena locks show up in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hosts long-lived workers and serves them to a workspace backend over REST and WebSocket.
#[derive(Debug, Parser)]
#[command(name = "worker-runtime", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free port. Anything but loopback requires a token.
    #[arg(long, env = "YOI_RUNTIME_BIND", default_value = "127.0.0.1:8790")]
    bind: SocketAddr,
    /// This runtime's id (lowercase letters, digits, '-' and '_').
    #[arg(long, env = "YOI_RUNTIME_ID", default_value = "local")]
    runtime_id: RuntimeId,
    /// Human name shown for this runtime.
    #[arg(long, env = "YOI_RUNTIME_DISPLAY_NAME", default_value = "Worker runtime")]
    display_name: String,
    /// Where workers are kept: `memory` (gone at exit) or `fs` (durable, in --data-dir).
    #[arg(long, env = "YOI_RUNTIME_STORE", value_enum, default_value_t = StoreArg::Memory)]
    store: StoreArg,
    /// Data directory of the fs store (created when missing; one process at a time).
    #[arg(long, env = "YOI_RUNTIME_DATA_DIR", required_if_eq("store", "fs"))]
    data_dir: Option<PathBuf>,
    /// Name of an environment variable holding the bearer token clients must present.
    #[arg(long, env = "YOI_RUNTIME_TOKEN_ENV", conflicts_with = "token_file")]
    token_env: Option<String>,
    /// File holding the bearer token clients must present.
    #[arg(long, env = "YOI_RUNTIME_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Profiles file (TOML, `[[profiles]]`); only the built-in `default` echo profile when absent.
    #[arg(long, env = "YOI_RUNTIME_PROFILES")]
    profiles: Option<PathBuf>,
    /// Durable events kept for stream resumption.
    #[arg(long, env = "YOI_RUNTIME_EVENT_RETENTION", default_value_t = 10_000)]
    event_retention: usize,
    /// Quiet time, in milliseconds, after which an event stream gets a heartbeat.
    #[arg(long, env = "YOI_RUNTIME_HEARTBEAT_MS", default_value_t = 15_000)]
    heartbeat_ms: u64,
    /// Inputs a busy worker queues with `when_busy = queue`.
    #[arg(long, env = "YOI_RUNTIME_QUEUE_CAPACITY", default_value_t = 16)]
    queue_capacity: usize,
    /// Stop a worker that has been idle this many seconds (reason `idle_timeout`); 0 never culls.
    #[arg(long, env = "YOI_RUNTIME_IDLE_TIMEOUT_S", default_value_t = 0)]
    idle_timeout_s: u64,
    /// How long, in seconds, a command's idempotency key is remembered.
    #[arg(long, env = "YOI_RUNTIME_IDEMPOTENCY_WINDOW_S", default_value_t = 24 * 60 * 60)]
    idempotency_window_s: u64,
    /// Most idempotency keys remembered; the oldest are forgotten first.
    #[arg(long, env = "YOI_RUNTIME_IDEMPOTENCY_KEYS", default_value_t = 10_000)]
    idempotency_keys: usize,
    /// Most event streams open at once; more are refused with `too_many_streams`.
    #[arg(long, env = "YOI_RUNTIME_MAX_EVENT_STREAMS", default_value_t = 4_096)]
    max_event_streams: usize,
    /// Most connections open at once, event streams included; more wait to be accepted until one closes.
    #[arg(long, env = "YOI_RUNTIME_MAX_CONNECTIONS", default_value_t = 8_192,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// Seconds a connection may take to send a request head, and may stay idle between requests.
    #[arg(long, env = "YOI_RUNTIME_HEADER_TIMEOUT_S", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout_s: u64,
    /// Seconds a request body may take to arrive whole; a slower one is answered `408 request_timeout`.
    #[arg(long, env = "YOI_RUNTIME_BODY_TIMEOUT_S", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout_s: u64,
    /// Extra names accepted in the `Host` header, beside loopback's and the bound address: `NAME` (any
    /// port) or `NAME:PORT`; comma-separated or repeated.
    #[arg(long, env = "YOI_RUNTIME_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>,
    /// Log filter, in `tracing` env-filter syntax; logs go to standard error.
    #[arg(long, env = "YOI_RUNTIME_LOG", default_value = "info")]
    log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreArg {
    Memory,
    Fs,
}

fn main() -> ExitCode {
    api_http::binary::run("worker-runtime", run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    api_http::binary::init_logging(&cli.log)?;
    let token = token(&cli)?;
    if token.is_none() && !cli.bind.ip().is_loopback() {
        bail!("listening on {} (not loopback) requires --token-env or --token-file", cli.bind);
    }
    let profiles = match &cli.profiles {
        Some(path) => ProfileSet::load(path)?,
        None => ProfileSet::builtin(),
    };
    let keys = KeyRetention { window: Duration::from_secs(cli.idempotency_window_s), capacity: cli.idempotency_keys };
    let store: Arc<dyn Store> = match cli.store {
        StoreArg::Memory => Arc::new(MemoryStore::new()),
        StoreArg::Fs => {
            let dir = cli.data_dir.as_deref().context("--store fs needs --data-dir")?;
            let options = FsOptions { event_retention: cli.event_retention, keys, ..FsOptions::default() };
            Arc::new(
                FsStore::open(dir, options).with_context(|| format!("cannot open data directory {}", dir.display()))?,
            )
        }
    };
    let mut config = RuntimeConfig::new(cli.runtime_id, cli.display_name);
    config.event_retention = cli.event_retention;
    config.heartbeat_interval = Duration::from_millis(cli.heartbeat_ms.max(1));
    config.queue_capacity = cli.queue_capacity;
    config.keys = keys;
    config.idle_timeout = (cli.idle_timeout_s > 0).then(|| Duration::from_secs(cli.idle_timeout_s));
    let runtime = Runtime::start(config, profiles, store).await?;

    let listener =
        tokio::net::TcpListener::bind(cli.bind).await.with_context(|| format!("cannot listen on {}", cli.bind))?;
    let local = listener.local_addr()?;
    // The one line on standard output: scripts wait for it to know the runtime accepts connections.
    println!("listening on http://{local}");
    std::io::stdout().flush()?;
    tracing::info!(address = %local, runtime_id = %runtime.config().runtime_id, "worker runtime started");

    let options = ServerOptions {
        token,
        max_event_streams: cli.max_event_streams,
        hosts: AllowedHosts::new(local, &cli.allowed_hosts),
        body_timeout: Duration::from_secs(cli.body_timeout_s),
    };
    let app = server::app(runtime.clone(), options);
    let limits = ServeLimits {
        header_read_timeout: Duration::from_secs(cli.header_timeout_s),
        max_connections: cli.max_connections as usize,
    };
    let stopping = runtime.clone();
    let stop = async move {
        api_http::shutdown_signal().await;
        // Ends event streams (so open sockets do not hold the shutdown), stops turns and flushes the store;
        // requests already waiting for durability complete.
        if let Err(error) = stopping.shutdown().await {
            tracing::error!(%error, "the store did not close cleanly");
        }
    };
    api_http::serve(listener, app, limits, stop).await;
    tracing::info!("worker runtime stopped");
    Ok(())
}

/// The bearer token from --token-env or --token-file, if either is given.
fn token(cli: &Cli) -> anyhow::Result<Option<BearerToken>> {
    let raw = if let Some(name) = &cli.token_env {
        std::env::var(name).with_context(|| format!("the token variable {name} is not set"))?
    } else if let Some(path) = &cli.token_file {
        std::fs::read_to_string(path).with_context(|| format!("cannot read the token file {}", path.display()))?
    } else {
        return Ok(None);
    };
    BearerToken::new(raw).map(Some).context("the token is empty")
}
