//! The registry of runtime sources: which runtimes exist, each behind its stack, with its health.
//!
//! Sources can be added and removed while the backend serves. Removing one closes its open event streams
//! with a typed `closed` frame, so no Browser is left waiting on a runtime that is gone.

mod closer;
pub mod view;

use std::sync::Arc;

use parking_lot::RwLock;
use runtime_api::{
    ApiError, CloseReason, Command, CommandAck, DetailAnswer, ErrorCode, FrameStream, IdempotencyKey, ListQuery,
    ProfileList, RuntimeId, RuntimeSource, RuntimeSummary, SourceDescriptor, SubscribeRequest, TranscriptPage,
    TranscriptQuery, WorkerId, WorkerPage,
};

use crate::health::Monitor;
use crate::metrics::Metrics;
use crate::stack::{self, Sanitizer, SourceHealth, SourceRequest, SourceResponse, SourceStack, StackSettings};
use closer::Closer;

/// Every runtime the backend knows, in registration order.
pub struct RuntimeRegistry {
    entries: RwLock<Vec<Arc<Registered>>>,
    settings: StackSettings,
    metrics: Arc<Metrics>,
}

/// One runtime in the registry.
pub struct Registered {
    descriptor: SourceDescriptor,
    health: Arc<SourceHealth>,
    link: Link,
}

/// How calls reach the runtime.
enum Link {
    /// Through its stack, watched by its monitor; `closer` ends its streams when it is removed.
    Active { stack: SourceStack, monitor: Arc<Monitor>, closer: Arc<Closer> },
    /// Known from configuration but not reachable through this build or setup; `reason` says why.
    Inactive { reason: String },
}

/// Why a source could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Another source already has this id.
    #[error("runtime {0} is already registered")]
    Duplicate(RuntimeId),
}

impl RuntimeRegistry {
    /// An empty registry whose sources get stacks with `settings`.
    pub fn new(settings: StackSettings, metrics: Arc<Metrics>) -> Self {
        RuntimeRegistry { entries: RwLock::new(Vec::new()), settings, metrics }
    }

    /// Adds a source behind its stack and starts monitoring its health; `sanitizer` knows the secrets it
    /// must never leak. Must run inside tokio.
    pub fn register(
        &self,
        source: Arc<dyn RuntimeSource>,
        sanitizer: Sanitizer,
    ) -> Result<Arc<Registered>, RegistryError> {
        let descriptor = source.describe();
        let health = SourceHealth::new();
        let monitor = Monitor::new(descriptor.runtime_id.clone(), self.settings.health, self.metrics.clone());
        let stacks = stack::build(
            descriptor.runtime_id.clone(),
            source,
            &self.settings,
            Arc::new(sanitizer),
            health.clone(),
            monitor.clone(),
            self.metrics.clone(),
        );
        let link = Link::Active { stack: stacks.calls, monitor: monitor.clone(), closer: Arc::new(Closer::new()) };
        let registered = self.insert(Registered { descriptor, health, link })?;
        // Only once the id is known to be free: a refused duplicate must not probe or export metrics.
        monitor.start(stacks.probes);
        Ok(registered)
    }

    /// A stack for `source` with this registry's limits, neither registered nor recorded in diagnostics and
    /// metrics: a connection test calls through it.
    pub fn detached(&self, source: Arc<dyn RuntimeSource>, sanitizer: Sanitizer) -> SourceStack {
        let runtime_id = source.describe().runtime_id;
        stack::guarded(runtime_id, source, &self.settings, Arc::new(sanitizer))
    }

    /// Lists a runtime that cannot be called, with the reason shown in its diagnostics.
    pub fn register_inactive(
        &self,
        descriptor: SourceDescriptor,
        reason: impl Into<String>,
    ) -> Result<Arc<Registered>, RegistryError> {
        self.insert(Registered {
            descriptor,
            health: SourceHealth::new(),
            link: Link::Inactive { reason: reason.into() },
        })
    }

    fn insert(&self, entry: Registered) -> Result<Arc<Registered>, RegistryError> {
        let mut entries = self.entries.write();
        if entries.iter().any(|e| e.descriptor.runtime_id == entry.descriptor.runtime_id) {
            return Err(RegistryError::Duplicate(entry.descriptor.runtime_id.clone()));
        }
        let entry = Arc::new(entry);
        entries.push(entry.clone());
        Ok(entry)
    }

    /// Removes a runtime and closes its open streams with `source_removed`.
    pub fn remove(&self, runtime_id: &RuntimeId) -> Option<Arc<Registered>> {
        let removed = {
            let mut entries = self.entries.write();
            let index = entries.iter().position(|e| &e.descriptor.runtime_id == runtime_id)?;
            entries.remove(index)
        };
        removed.close(CloseReason::SourceRemoved);
        removed.retire();
        // Before a runtime with the same id may register again and export its own.
        self.metrics.forget_health(runtime_id.as_str());
        Some(removed)
    }

    /// Closes every open stream; used at shutdown.
    pub fn close_all(&self, reason: CloseReason) {
        for entry in self.entries.read().iter() {
            entry.close(reason);
        }
    }

    /// The runtime with this id.
    pub fn get(&self, runtime_id: &RuntimeId) -> Result<Arc<Registered>, ApiError> {
        self.named(runtime_id.as_str()).ok_or_else(|| ApiError::runtime_not_found(runtime_id))
    }

    /// The runtime whose id reads `runtime_id`, if one is registered: a lookup by a path segment as it came.
    pub fn named(&self, runtime_id: &str) -> Option<Arc<Registered>> {
        self.entries.read().iter().find(|e| e.descriptor.runtime_id.as_str() == runtime_id).cloned()
    }

    /// Every runtime, in registration order.
    pub fn list(&self) -> Vec<Arc<Registered>> {
        self.entries.read().clone()
    }

    /// How long each kind of call to a runtime may take, the same for every runtime.
    pub fn deadlines(&self) -> &stack::Deadlines {
        &self.settings.deadlines
    }
}

/// Defines a typed method per operation over [`Registered::call`].
macro_rules! operations {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $out:ty = $request:expr => $variant:ident;)*) => {
        impl Registered {
            $(
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, ApiError> {
                    match self.call($request).await? {
                        SourceResponse::$variant(value) => Ok(value),
                        _ => Err(self.mismatch(stringify!($name))),
                    }
                }
            )*
        }
    };
}

operations! {
    /// The runtime's summary.
    summary() -> RuntimeSummary = SourceRequest::Summary => Summary;
    /// A page of workers.
    list(query: ListQuery) -> WorkerPage = SourceRequest::List(query) => Workers;
    /// One worker: a remote's answer as it came when it can be forwarded unchanged.
    get(worker_id: WorkerId) -> DetailAnswer = SourceRequest::Get(worker_id) => Worker;
    /// Runs a command, under the client's idempotency key if it sent one.
    command(command: Command, key: Option<IdempotencyKey>) -> CommandAck = SourceRequest::Command(command, key) => Command;
    /// A transcript page.
    transcript(worker_id: WorkerId, query: TranscriptQuery) -> TranscriptPage = SourceRequest::Transcript(worker_id, query) => Transcript;
    /// The runtime's profiles.
    profiles() -> ProfileList = SourceRequest::Profiles => Profiles;
}

impl Registered {
    /// Id, display name and kind.
    pub fn descriptor(&self) -> &SourceDescriptor {
        &self.descriptor
    }

    /// The id.
    pub fn runtime_id(&self) -> &RuntimeId {
        &self.descriptor.runtime_id
    }

    /// Outcomes and latency of recent calls.
    pub fn health(&self) -> &SourceHealth {
        &self.health
    }

    /// The health monitor of a runtime that can be called.
    pub fn monitor(&self) -> Option<&Arc<Monitor>> {
        match &self.link {
            Link::Active { monitor, .. } => Some(monitor),
            Link::Inactive { .. } => None,
        }
    }

    /// Tells the monitor a call was given up on for taking too long, which the call itself cannot report.
    pub fn suspect(&self) {
        if let Some(monitor) = self.monitor() {
            monitor.suspect();
        }
    }

    /// Why the runtime cannot be called, when it cannot.
    pub fn inactive_reason(&self) -> Option<&str> {
        match &self.link {
            Link::Active { .. } => None,
            Link::Inactive { reason } => Some(reason),
        }
    }

    /// Opens an event stream that the registry can close.
    pub async fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        let Link::Active { closer, .. } = &self.link else {
            return Err(self.unavailable());
        };
        match self.call(SourceRequest::Subscribe(request)).await? {
            SourceResponse::Stream(stream) => Ok(closer.guard(stream)),
            _ => Err(self.mismatch("subscribe")),
        }
    }

    /// Sends one request through the stack.
    pub async fn call(&self, request: SourceRequest) -> Result<SourceResponse, ApiError> {
        match &self.link {
            Link::Active { stack, .. } => stack.call(request).await,
            Link::Inactive { .. } => Err(self.unavailable()),
        }
    }

    fn close(&self, reason: CloseReason) {
        if let Link::Active { closer, .. } = &self.link {
            closer.close(reason);
        }
    }

    /// Stops the monitor, whose task would otherwise keep probing a runtime nobody can reach any more.
    fn retire(&self) {
        if let Link::Active { monitor, .. } = &self.link {
            monitor.stop();
        }
    }

    fn unavailable(&self) -> ApiError {
        let id = self.runtime_id();
        let reason = self.inactive_reason().unwrap_or("it is not active");
        ApiError::new(ErrorCode::RuntimeUnavailable, format!("runtime {id} cannot be reached: {reason}"))
            .with_runtime(id.clone())
    }

    fn mismatch(&self, operation: &str) -> ApiError {
        tracing::error!(runtime_id = %self.runtime_id(), operation, "stack answered with the wrong response kind");
        ApiError::internal().with_runtime(self.runtime_id().clone())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.retire();
    }
}

#[cfg(test)]
mod tests;
