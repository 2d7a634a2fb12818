//! Assembling and serving the backend: the registry and its sources, then the HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use api_http::ServeLimits;
use runtime_api::{CloseReason, RuntimeId, RuntimeSource};
use sources::EmbeddedSource;
use sources::embedded::{EmbeddedOptions, EmbeddedStartError, EmbeddedStore};
use sources::spec::{BuildOptions, Confidential};
use std::time::Duration;
use tokio::net::TcpListener;

use crate::access::{Access, AccessTokenError, generated_token};
use crate::api::session::SignIn;
use crate::api::{self, AppState, Guard, HttpLimits};
use crate::config::{self, AuthMode, BackendConfig, CliOverrides, SecretRefError, StoreKind};
use crate::connections::live::{self, Applied};
use crate::connections::{Connections, Workspace};
use crate::metrics::Metrics;
use crate::registry::{RegistryError, RuntimeRegistry};
use crate::stack::{Sanitizer, StackSettings};

/// Longest pause between attempts to resume a remote's event stream.
pub(crate) const DEFAULT_RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The backend: its runtimes, metrics and settings, ready to serve.
pub struct Backend {
    config: BackendConfig,
    registry: Arc<RuntimeRegistry>,
    metrics: Arc<Metrics>,
    access: Access,
    sign_in: Arc<SignIn>,
    embedded: Option<EmbeddedSource>,
    connections: Arc<Connections>,
    streams: api_http::StreamCaps,
}

/// Builds a [`Backend`]; tests use it to add mock sources and leave the embedded runtime out.
pub struct BackendBuilder {
    config: BackendConfig,
    extra: Vec<(Arc<dyn RuntimeSource>, Sanitizer)>,
    embedded: bool,
    stack: StackSettings,
    reconnect_max: Duration,
    cli: CliOverrides,
    generate_token: bool,
}

/// Why the backend could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The embedded runtime could not start.
    #[error("cannot start the embedded runtime: {0}")]
    Embedded(#[from] EmbeddedStartError),
    /// The access token could not be read.
    #[error("cannot read the access token (server.access_token_ref): {0}")]
    AccessToken(#[from] SecretRefError),
    /// The generated access token could not be kept.
    #[error(transparent)]
    GeneratedToken(#[from] AccessTokenError),
    /// Two sources share an id.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A configured runtime could not be registered.
    #[error("cannot register runtime {id}: {reason}")]
    Configured {
        /// The runtime.
        id: RuntimeId,
        /// Why.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl Backend {
    /// Starts building a backend from a loaded configuration.
    pub fn builder(config: BackendConfig) -> BackendBuilder {
        BackendBuilder {
            config,
            extra: Vec::new(),
            embedded: true,
            stack: StackSettings::default(),
            reconnect_max: DEFAULT_RECONNECT_MAX,
            cli: CliOverrides::default(),
            generate_token: false,
        }
    }

    /// How requests are authenticated.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The runtimes.
    pub fn registry(&self) -> &Arc<RuntimeRegistry> {
        &self.registry
    }

    /// The runtime connections, for reloading them from the config file (SIGHUP).
    pub fn connections(&self) -> &Arc<Connections> {
        &self.connections
    }

    /// The HTTP application for a server bound at `bound` (the guard accepts that address's names).
    pub fn router(&self, bound: SocketAddr) -> impl api::BrowserApi {
        let state = AppState {
            registry: self.registry.clone(),
            metrics: self.metrics.clone(),
            connections: self.connections.clone(),
            streams: self.streams.clone(),
            sign_in: self.sign_in.clone(),
        };
        let guard = Guard::new(bound, &self.config.server, self.access.token().cloned());
        let limits = HttpLimits {
            body_limit_bytes: self.config.server.body_limit_bytes,
            request_timeout: self.config.server.request_timeout,
            body_timeout: self.config.server.body_timeout(),
        };
        api::router(state, guard, limits)
    }

    /// Opens the listening socket at the configured address.
    pub async fn bind(self) -> Result<Listening, BackendError> {
        let addr = self.config.server.bind;
        let listener = TcpListener::bind(addr).await.map_err(|source| BackendError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| BackendError::Bind { addr, source })?;
        Ok(Listening { backend: self, listener, local })
    }

    /// Ends every open stream and stops the embedded runtime (flushing its store).
    pub async fn shutdown(&self) {
        self.registry.close_all(CloseReason::Shutdown);
        if let Some(embedded) = &self.embedded
            && let Err(error) = embedded.shutdown().await
        {
            tracing::error!(%error, "the embedded runtime did not shut down cleanly");
        }
    }
}

impl BackendBuilder {
    /// Adds a source (tests add mocks this way).
    pub fn source(self, source: Arc<dyn RuntimeSource>) -> Self {
        self.source_with_secrets(source, Sanitizer::new())
    }

    /// Adds a source whose secrets `sanitizer` must keep out of every response.
    pub fn source_with_secrets(mut self, source: Arc<dyn RuntimeSource>, sanitizer: Sanitizer) -> Self {
        self.extra.push((source, sanitizer));
        self
    }

    /// Leaves the embedded runtime out.
    pub fn without_embedded(mut self) -> Self {
        self.embedded = false;
        self
    }

    /// Replaces the deadlines and bounds of every source's stack.
    pub fn stack_settings(mut self, settings: StackSettings) -> Self {
        self.stack = settings;
        self
    }

    /// The command-line values the configuration was loaded with, so a reload loads it the same way.
    pub fn cli(mut self, cli: CliOverrides) -> Self {
        self.cli = cli;
        self
    }

    /// Generates an access token in the workspace (or reuses the one kept there) when authentication is on and
    /// none is configured, as the binary does; without this such a backend asks for no token.
    pub fn generate_access_token(mut self) -> Self {
        self.generate_token = true;
        self
    }

    /// Replaces the longest pause between attempts to resume a remote's event stream (tests shorten it).
    pub fn stream_reconnect_max(mut self, pause: Duration) -> Self {
        self.reconnect_max = pause;
        self
    }

    /// Starts the embedded runtime and registers every source.
    pub async fn build(self) -> Result<Backend, BackendError> {
        let config = self.config;
        let access = match (&config.server.access_token_ref, config.server.auth) {
            (Some(configured), _) => Access::Configured(configured.resolve()?),
            (None, AuthMode::Token) if self.generate_token => Access::Generated(generated_token(&config.workspace)?),
            (None, _) => Access::Off,
        };
        let sign_in = SignIn::new(access.token().cloned());
        let metrics = Arc::new(Metrics::new());
        // A remote's client works within the stack's deadlines, derived from them so the two cannot disagree.
        let options = BuildOptions { remote: self.stack.deadlines.remote_timeouts(self.reconnect_max) };
        let registry = Arc::new(RuntimeRegistry::new(self.stack, metrics.clone()));

        let embedded = if self.embedded {
            let store = match config.embedded.store {
                StoreKind::Memory => EmbeddedStore::Memory,
                StoreKind::Fs => EmbeddedStore::Fs(config.embedded.data_dir.clone().unwrap_or_default()),
            };
            let options = EmbeddedOptions {
                runtime_id: RuntimeId::parse(config::EMBEDDED_RUNTIME_ID).expect("a valid id"),
                display_name: config::EMBEDDED_DISPLAY_NAME.to_owned(),
                profiles_file: config.embedded.profiles_file.clone(),
                store,
                idle_timeout: config.embedded.idle_timeout,
            };
            let embedded = EmbeddedSource::start(options).await?;
            registry.register(Arc::new(embedded.clone()), embedded_secrets(&config))?;
            Some(embedded)
        } else {
            None
        };
        for (source, sanitizer) in self.extra {
            registry.register(source, sanitizer)?;
        }
        let mut applied = Applied::default();
        let outcome = live::reconcile(&registry, &mut applied, &config, &options);
        if let Some((id, reason)) = outcome.failed.into_iter().next() {
            return Err(BackendError::Configured { id, reason });
        }
        let workspace = Workspace::new(config.workspace.clone(), self.cli);
        let connections =
            Arc::new(Connections::new(workspace, registry.clone(), options, metrics.clone(), &config, applied));
        let streams = api_http::StreamCaps::new(
            config.server.max_event_streams,
            config.server.max_event_streams_per_client,
            ["server.max_event_streams", "server.max_event_streams_per_client"],
        );
        Ok(Backend { config, registry, metrics, access, sign_in, embedded, connections, streams })
    }
}

/// What the embedded runtime's answers must never show: where it keeps its data and its profiles.
fn embedded_secrets(config: &BackendConfig) -> Sanitizer {
    let owner = RuntimeId::parse(config::EMBEDDED_RUNTIME_ID).expect("a valid id");
    let paths = [&config.embedded.data_dir, &config.embedded.profiles_file];
    let hidden: Vec<_> =
        paths.into_iter().flatten().map(|path| Confidential::Path(path.display().to_string())).collect();
    Sanitizer::new().confidential(&owner, &hidden)
}

/// A backend with its socket open, about to serve.
pub struct Listening {
    backend: Backend,
    listener: TcpListener,
    local: SocketAddr,
}

impl Listening {
    /// The address actually bound (port 0 picks a free one).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// How requests are authenticated.
    pub fn access(&self) -> &Access {
        self.backend.access()
    }

    /// Serves until `shutdown` resolves, then closes every stream, lets in-flight requests finish and stops
    /// the embedded runtime. Request heads must arrive within `server.request_head_timeout_secs`, and at most
    /// `server.max_connections` connections are open at once; requests see the peer's address, which the
    /// event stream bound counts streams by.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), BackendError> {
        let Listening { backend, listener, local } = self;
        let app = backend.router(local);
        let registry = backend.registry.clone();
        let stop = async move {
            shutdown.await;
            // Open WebSockets would keep a graceful shutdown waiting forever: end their streams first.
            registry.close_all(CloseReason::Shutdown);
        };
        let server = &backend.config.server;
        let limits =
            ServeLimits { header_read_timeout: server.request_head_timeout, max_connections: server.max_connections };
        api_http::serve(listener, app, limits, stop).await;
        backend.shutdown().await;
        Ok(())
    }
}
