//! Assembling and serving the backend: the registry and its sources, then the HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use runtime_api::{CloseReason, RuntimeId, RuntimeSource, SourceDescriptor, SourceKind};
use sources::embedded::{EmbeddedOptions, EmbeddedStartError, EmbeddedStore};
use sources::remote_http::{RemoteHttpSource, RemoteOptions, RemoteTimeouts};
use sources::{EmbeddedSource, LocalCompatSource};
use tokio::net::TcpListener;

use crate::api::{self, AppState, Guard, HttpLimits};
use crate::config::{self, BackendConfig, RemoteRuntimeConfig, Secret, SecretRefError, StoreKind};
use crate::metrics::Metrics;
use crate::registry::{RegistryError, RuntimeRegistry};
use crate::stack::sanitize::SecretKind;
use crate::stack::{Sanitizer, StackSettings};

/// The backend: its runtimes, metrics and settings, ready to serve.
pub struct Backend {
    config: BackendConfig,
    registry: Arc<RuntimeRegistry>,
    metrics: Arc<Metrics>,
    access_token: Option<Secret>,
    embedded: Option<EmbeddedSource>,
}

/// Builds a [`Backend`]; tests use it to add mock sources and leave the embedded runtime out.
pub struct BackendBuilder {
    config: BackendConfig,
    extra: Vec<(Arc<dyn RuntimeSource>, Sanitizer)>,
    embedded: bool,
    stack: StackSettings,
    remote_timeouts: RemoteTimeouts,
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
    /// Two sources share an id.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while serving.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
}

impl Backend {
    /// Starts building a backend from a loaded configuration.
    pub fn builder(config: BackendConfig) -> BackendBuilder {
        BackendBuilder {
            config,
            extra: Vec::new(),
            embedded: true,
            stack: StackSettings::default(),
            remote_timeouts: RemoteTimeouts::default(),
        }
    }

    /// The runtimes.
    pub fn registry(&self) -> &Arc<RuntimeRegistry> {
        &self.registry
    }

    /// The HTTP application for a server bound at `bound` (the guard accepts that address's names).
    pub fn router(&self, bound: SocketAddr) -> Router {
        let state = AppState { registry: self.registry.clone(), metrics: self.metrics.clone() };
        let guard = Guard::new(bound, &self.config.server, self.access_token.clone());
        let limits = HttpLimits {
            body_limit_bytes: self.config.server.body_limit_bytes,
            request_timeout: self.config.server.request_timeout,
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

    /// Replaces the time limits of every remote runtime's calls (tests shorten them).
    pub fn remote_timeouts(mut self, timeouts: RemoteTimeouts) -> Self {
        self.remote_timeouts = timeouts;
        self
    }

    /// Starts the embedded runtime and registers every source.
    pub async fn build(self) -> Result<Backend, BackendError> {
        let config = self.config;
        let access_token = config.server.access_token_ref.as_ref().map(|r| r.resolve()).transpose()?;
        let metrics = Arc::new(Metrics::new());
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
        for remote in &config.remotes {
            register_remote(&registry, remote, &self.remote_timeouts)?;
        }
        for view in &config.local_compat {
            let source = LocalCompatSource::new(view.id.clone(), view.display_name.clone(), view.path.clone());
            let secrets = Sanitizer::new().secret(SecretKind::Path, &view.id, &view.path.display().to_string());
            registry.register(Arc::new(source), secrets)?;
        }
        Ok(Backend { config, registry, metrics, access_token, embedded })
    }
}

/// Registers a remote runtime. One that cannot even be set up (an unusable CA file, say) is still listed, as
/// inactive with the reason; one that is down is listed and starts working when it comes up.
fn register_remote(
    registry: &RuntimeRegistry,
    remote: &RemoteRuntimeConfig,
    timeouts: &RemoteTimeouts,
) -> Result<(), RegistryError> {
    let options = RemoteOptions {
        runtime_id: remote.id.clone(),
        display_name: remote.display_name.clone(),
        endpoint: remote.endpoint.clone(),
        token_ref: remote.token_ref.clone(),
        ca_file: remote.ca_file.clone(),
        timeouts: *timeouts,
    };
    match RemoteHttpSource::new(options) {
        Ok(source) => registry.register(Arc::new(source), remote_secrets(remote)).map(drop),
        Err(error) => {
            tracing::warn!(runtime_id = %remote.id, %error, "remote runtime cannot be set up");
            let descriptor = descriptor(&remote.id, &remote.display_name, SourceKind::RemoteHttp);
            registry.register_inactive(descriptor, error.to_string()).map(drop)
        }
    }
}

/// What a remote's answers must never show: its endpoint, its token and where the token comes from.
fn remote_secrets(remote: &RemoteRuntimeConfig) -> Sanitizer {
    let owner = &remote.id;
    let mut sanitizer = Sanitizer::new().endpoint(owner, &remote.endpoint);
    if let Some(token_ref) = &remote.token_ref {
        for form in token_ref.revealing_forms() {
            sanitizer = sanitizer.secret(SecretKind::TokenRef, owner, &form);
        }
        // Best effort: a token that cannot be read now is never sent either.
        if let Ok(token) = token_ref.resolve() {
            sanitizer = sanitizer.secret(SecretKind::Token, owner, token.expose());
        }
    }
    if let Some(ca_file) = &remote.ca_file {
        sanitizer = sanitizer.secret(SecretKind::Path, owner, &ca_file.display().to_string());
    }
    sanitizer
}

/// What the embedded runtime's answers must never show: where it keeps its data and its profiles.
fn embedded_secrets(config: &BackendConfig) -> Sanitizer {
    let owner = RuntimeId::parse(config::EMBEDDED_RUNTIME_ID).expect("a valid id");
    let paths = [&config.embedded.data_dir, &config.embedded.profiles_file];
    paths.into_iter().flatten().fold(Sanitizer::new(), |sanitizer, path| {
        sanitizer.secret(SecretKind::Path, &owner, &path.display().to_string())
    })
}

fn descriptor(id: &RuntimeId, display_name: &str, kind: SourceKind) -> SourceDescriptor {
    SourceDescriptor { runtime_id: id.clone(), display_name: display_name.to_owned(), kind }
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

    /// Serves until `shutdown` resolves, then closes every stream, lets in-flight requests finish and stops
    /// the embedded runtime.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), BackendError> {
        let Listening { backend, listener, local } = self;
        let app = backend.router(local);
        let registry = backend.registry.clone();
        let stop = async move {
            shutdown.await;
            // Open WebSockets would keep a graceful shutdown waiting forever: end their streams first.
            registry.close_all(CloseReason::Shutdown);
        };
        let served = axum::serve(listener, app).with_graceful_shutdown(stop).await;
        backend.shutdown().await;
        served.map_err(BackendError::Serve)
    }
}
