//! Runtime connections (SPEC §8): validating, persisting, testing and applying the remote runtimes an operator
//! manages, from the settings API, the command line or the file itself.
//!
//! Every change is written to the personal config file first and applied to the live registry after, under one
//! lock, so the registry never holds what the file does not say and two changes never interleave. A change runs
//! in a task of its own, so a caller that stops waiting (a dropped connection) cannot leave it written but not
//! applied; and nothing under the lock waits on the network: the answer shows what the health monitor knows.

mod document;
pub mod edits;
mod file;
mod listing;
pub mod live;
pub mod negotiate;
pub mod rules;

use std::future::Future;
use std::sync::Arc;

use runtime_api::{ApiError, ErrorCode, RuntimeId};
use serde::Serialize;
use sources::spec::BuildOptions;
use tokio::sync::Mutex;
use utoipa::ToSchema;

use crate::config::{self, BackendConfig, EMBEDDED_RUNTIME_ID, EmbeddedConfig, ServerConfig};
use crate::metrics::Metrics;
use crate::registry::RuntimeRegistry;
pub use edits::Workspace;
pub use listing::{ConnectionList, ConnectionView, DefinedIn};
use live::{Applied, Reconciled};
use negotiate::TestReport;
pub use rules::ConnectionDraft;

/// The connections of a running backend: its workspace's config file and its live registry.
pub struct Connections {
    workspace: Workspace,
    registry: Arc<RuntimeRegistry>,
    options: BuildOptions,
    metrics: Arc<Metrics>,
    /// Held across every write and apply; it also records what the registry holds from configuration.
    state: Mutex<State>,
}

/// What was last applied.
struct State {
    applied: Applied,
    /// Settings that only a restart changes, as the backend started with them.
    server: ServerConfig,
    embedded: EmbeddedConfig,
}

/// Answer of an add.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Added {
    /// The connection as now listed.
    pub connection: ConnectionView,
    /// Whether the backend must restart before the connection is served (false when applied live).
    pub restart_required: bool,
}

/// Answer of a removal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Removed {
    /// The id removed.
    pub removed: RuntimeId,
    /// Whether the backend must restart before the connection stops being served (false when applied live).
    pub restart_required: bool,
}

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    /// Registry changes.
    pub changes: Reconciled,
    /// Whether settings changed that only a restart applies (`[server]`, `[embedded]`).
    pub restart_required: bool,
}

impl Connections {
    /// Connections of a backend that registered `config`'s runtimes into `registry` as `applied`.
    pub(crate) fn new(
        workspace: Workspace,
        registry: Arc<RuntimeRegistry>,
        options: BuildOptions,
        metrics: Arc<Metrics>,
        config: &BackendConfig,
        applied: Applied,
    ) -> Self {
        let state = State { applied, server: config.server.clone(), embedded: config.embedded.clone() };
        Connections { workspace, registry, options, metrics, state: Mutex::new(state) }
    }

    /// Every connection: the embedded runtime, the configured ones and how each maps to the registry.
    pub async fn list(&self) -> Result<ConnectionList, ApiError> {
        let workspace = self.workspace.clone();
        let (config, local) = blocking(move || Ok((workspace.load()?, workspace.local_entries()?))).await?;
        Ok(listing::list(&self.workspace.dir, &config, &local, &self.registry).await)
    }

    /// Adds a remote connection: written to the file, then registered; the answer does not wait for the
    /// new runtime to be probed.
    pub async fn add(self: &Arc<Self>, draft: ConnectionDraft) -> Result<Added, ApiError> {
        self.detached(move |this| async move { this.add_now(draft).await }).await
    }

    /// Removes a remote connection: taken out of the file, then unregistered (its streams closed).
    pub async fn remove(self: &Arc<Self>, id: &str) -> Result<Removed, ApiError> {
        let id = id.to_owned();
        self.detached(move |this| async move { this.remove_now(&id).await }).await
    }

    /// Reads the configuration again and reconciles the registry with it (SIGHUP). A configuration that does
    /// not load changes nothing.
    pub async fn reload(self: &Arc<Self>) -> Result<Reloaded, ApiError> {
        self.detached(|this| async move { this.reload_now().await }).await
    }

    /// Runs a change to its end in a task of its own, whether or not the caller keeps waiting.
    async fn detached<T, F>(self: &Arc<Self>, change: impl FnOnce(Arc<Self>) -> F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        tokio::spawn(change(self.clone())).await.unwrap_or_else(|_| Err(ApiError::internal()))
    }

    async fn add_now(&self, draft: ConnectionDraft) -> Result<Added, ApiError> {
        let mut state = self.state.lock().await;
        let id = draft.check()?.id;
        let workspace = self.workspace.clone();
        let registry = self.registry.clone();
        let applied = state.applied.clone();
        let config = blocking(move || {
            workspace.add(&draft, |id| {
                // A source registered by code rather than configuration also holds its id.
                registry.get(id).is_ok() && !applied.holds(id)
            })
        })
        .await?;
        self.apply(&mut state, &config);
        let local = [(config::RemoteSpec::TABLE.to_owned(), id.to_string())];
        let connection = listing::one(&self.workspace.dir, &config, &local, &self.registry, &id).await;
        let restart_required = !connection.active;
        Ok(Added { connection, restart_required })
    }

    async fn remove_now(&self, id: &str) -> Result<Removed, ApiError> {
        let mut state = self.state.lock().await;
        let runtime_id = RuntimeId::parse(id)
            .map_err(|_| ApiError::new(ErrorCode::ConnectionNotFound, format!("no connection {id}")))?;
        let workspace = self.workspace.clone();
        let owned = id.to_owned();
        let config = match blocking(move || workspace.remove(&owned)).await {
            Ok(config) => config,
            // Gone from the file already (edited by hand) but still served: the file is the truth.
            Err(error) if error.code == ErrorCode::ConnectionNotFound && state.applied.holds(&runtime_id) => {
                let workspace = self.workspace.clone();
                blocking(move || workspace.load()).await?
            }
            Err(error) => return Err(error),
        };
        self.apply(&mut state, &config);
        let restart_required = self.registry.get(&runtime_id).is_ok();
        Ok(Removed { removed: runtime_id, restart_required })
    }

    /// Tests a saved connection.
    pub async fn test_saved(&self, id: &str) -> Result<TestReport, ApiError> {
        let workspace = self.workspace.clone();
        let config = blocking(move || workspace.load()).await?;
        let connection = match config.runtime(id) {
            Some(spec) => spec.as_connection().cloned(),
            None if id == EMBEDDED_RUNTIME_ID => None,
            None => return Err(ApiError::new(ErrorCode::ConnectionNotFound, format!("no connection {id}"))),
        };
        let Some(connection) = connection else {
            let message = format!("{id} is not a remote connection; there is nothing to test");
            return Err(ApiError::new(ErrorCode::ConnectionBuiltin, message));
        };
        Ok(negotiate::test(connection, &self.registry, &self.options).await)
    }

    /// Tests a connection before it is saved; nothing is written. A token reference bound to a saved
    /// connection is only used for that connection's own endpoint.
    pub async fn test_candidate(&self, draft: ConnectionDraft) -> Result<TestReport, ApiError> {
        let connection = draft.check()?.spec(&self.workspace.dir)?;
        let workspace = self.workspace.clone();
        let config = blocking(move || workspace.load()).await?;
        rules::check_binding(&connection, &config, &self.workspace.dir)?;
        Ok(negotiate::test(connection, &self.registry, &self.options).await)
    }

    async fn reload_now(&self) -> Result<Reloaded, ApiError> {
        let mut state = self.state.lock().await;
        let workspace = self.workspace.clone();
        let config = blocking(move || workspace.load()).await.inspect_err(|_| self.metrics.record_reload(false))?;
        for warning in &config.warnings {
            tracing::warn!(%warning, "configuration");
        }
        let changes = self.apply(&mut state, &config);
        self.metrics.record_reload(true);
        let restart_required = config.server != state.server || config.embedded != state.embedded;
        Ok(Reloaded { changes, restart_required })
    }

    fn apply(&self, state: &mut State, config: &BackendConfig) -> Reconciled {
        let outcome = live::reconcile(&self.registry, &mut state.applied, config, &self.options);
        for id in &outcome.removed {
            tracing::info!(runtime_id = %id, "runtime unregistered");
        }
        for id in &outcome.added {
            tracing::info!(runtime_id = %id, "runtime registered");
        }
        for (id, reason) in &outcome.failed {
            tracing::warn!(runtime_id = %id, reason, "runtime could not be registered");
        }
        outcome
    }
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| Err(ApiError::internal()))
}
