//! The tower stack every call to a source passes through.
//!
//! A [`RuntimeSource`] is adapted into a `tower::Service<SourceRequest>` (one request variant per
//! operation), and [`build`] wraps it in the layers below. Errors and event streams come back through the
//! same layers, so typing, sanitization and bookkeeping happen here once instead of in every handler.

mod adapter;
pub mod bulkhead;
pub mod circuit;
pub mod deadline;
pub mod diagnostics;
pub mod map_error;
pub mod sanitize;

use std::sync::Arc;
use std::time::Duration;

use runtime_api::{
    ApiError, Command, CommandAck, DetailAnswer, FrameStream, IdempotencyKey, ListQuery, ProfileList, RuntimeId,
    RuntimeSource, RuntimeSummary, SubscribeRequest, TranscriptPage, TranscriptQuery, WorkerId, WorkerPage,
};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use crate::health::{HealthSettings, Monitor};
use crate::metrics::Metrics;
pub use adapter::SourceService;
pub use bulkhead::BulkheadLayer;
pub use circuit::CircuitLayer;
pub use deadline::{DeadlineLayer, Deadlines};
pub use diagnostics::{DiagnosticsLayer, SourceHealth};
pub use map_error::MapErrorLayer;
pub use sanitize::{SanitizeLayer, Sanitizer};

/// One call to a source.
#[derive(Debug, Clone)]
pub enum SourceRequest {
    /// The runtime's summary.
    Summary,
    /// A page of workers.
    List(ListQuery),
    /// One worker's detail.
    Get(WorkerId),
    /// A command, with the client's idempotency key when it sent one.
    Command(Command, Option<IdempotencyKey>),
    /// A transcript page.
    Transcript(WorkerId, TranscriptQuery),
    /// Open an event stream.
    Subscribe(SubscribeRequest),
    /// The profiles workers can be created with.
    Profiles,
}

/// What a source answered.
pub enum SourceResponse {
    /// For [`SourceRequest::Summary`].
    Summary(RuntimeSummary),
    /// For [`SourceRequest::List`].
    Workers(WorkerPage),
    /// For [`SourceRequest::Get`]: a remote's bytes when they can be forwarded as they are.
    Worker(DetailAnswer),
    /// For [`SourceRequest::Command`].
    Command(CommandAck),
    /// For [`SourceRequest::Transcript`].
    Transcript(TranscriptPage),
    /// For [`SourceRequest::Subscribe`].
    Stream(FrameStream),
    /// For [`SourceRequest::Profiles`].
    Profiles(ProfileList),
}

/// The operations, for deadlines, logs and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Summary.
    Summary,
    /// Worker list.
    List,
    /// Worker detail.
    Get,
    /// Create.
    Create,
    /// Input.
    Input,
    /// Stop.
    Stop,
    /// Cancel.
    Cancel,
    /// Transcript page.
    Transcript,
    /// Opening an event stream.
    Subscribe,
    /// The profiles list.
    Profiles,
}

impl Operation {
    /// The label used in logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Summary => "summary",
            Operation::List => "list",
            Operation::Get => "get",
            Operation::Create => "create",
            Operation::Input => "input",
            Operation::Stop => "stop",
            Operation::Cancel => "cancel",
            Operation::Transcript => "transcript",
            Operation::Subscribe => "subscribe",
            Operation::Profiles => "profiles",
        }
    }

    /// Whether the operation changes a runtime (and may take longer, waiting for durability).
    pub const fn is_command(self) -> bool {
        matches!(self, Operation::Create | Operation::Input | Operation::Stop | Operation::Cancel)
    }
}

impl SourceRequest {
    /// Which operation this is.
    pub fn operation(&self) -> Operation {
        match self {
            SourceRequest::Summary => Operation::Summary,
            SourceRequest::List(_) => Operation::List,
            SourceRequest::Get(_) => Operation::Get,
            SourceRequest::Command(Command::Create(_), _) => Operation::Create,
            SourceRequest::Command(Command::Input(..), _) => Operation::Input,
            SourceRequest::Command(Command::Stop(..), _) => Operation::Stop,
            SourceRequest::Command(Command::Cancel(..), _) => Operation::Cancel,
            SourceRequest::Transcript(..) => Operation::Transcript,
            SourceRequest::Subscribe(_) => Operation::Subscribe,
            SourceRequest::Profiles => Operation::Profiles,
        }
    }
}

/// Errors inside the stack, below [`MapErrorLayer`]; above it every error is an [`ApiError`].
pub type BoxError = tower::BoxError;

/// A source behind its whole stack.
pub type SourceStack = BoxCloneSyncService<SourceRequest, SourceResponse, ApiError>;

/// Per-source limits of the stack.
#[derive(Debug, Clone)]
pub struct StackSettings {
    /// How long each kind of call may take.
    pub deadlines: Deadlines,
    /// Most calls in progress at once on one source.
    pub max_in_flight: usize,
    /// How each source's health is probed.
    pub health: HealthSettings,
}

impl Default for StackSettings {
    fn default() -> Self {
        StackSettings { deadlines: Deadlines::default(), max_in_flight: 64, health: HealthSettings::default() }
    }
}

/// A registered source's stacks: the one its calls take, and the one its health monitor probes through.
pub struct BuiltStack {
    /// Every call.
    pub calls: SourceStack,
    /// The monitor's probes: the same layers without the circuit and the call diagnostics.
    pub probes: SourceStack,
}

/// Wraps a registered source in its stack. The outermost layer comes first.
pub fn build(
    runtime_id: RuntimeId,
    source: Arc<dyn RuntimeSource>,
    settings: &StackSettings,
    sanitizer: Arc<Sanitizer>,
    health: Arc<SourceHealth>,
    monitor: Arc<Monitor>,
    metrics: Arc<Metrics>,
) -> BuiltStack {
    let calls = ServiceBuilder::new()
        // Records what the caller finally gets — sanitized, typed, with total latency — for /api/runtimes
        // and /metrics.
        .layer(DiagnosticsLayer::new(runtime_id.clone(), health, metrics).quiet_while_down(monitor.clone()))
        .service(layered(runtime_id.clone(), source.clone(), settings, sanitizer.clone(), Some(monitor)));
    let probes = guarded(runtime_id, source, settings, sanitizer);
    BuiltStack { calls: BoxCloneSyncService::new(calls), probes }
}

/// The stack without its circuit and diagnostics: what a call to a source that is not registered (a
/// connection test) and a health probe go through, so they are bounded, typed and scrubbed exactly like
/// every other call.
pub fn guarded(
    runtime_id: RuntimeId,
    source: Arc<dyn RuntimeSource>,
    settings: &StackSettings,
    sanitizer: Arc<Sanitizer>,
) -> SourceStack {
    BoxCloneSyncService::new(layered(runtime_id, source, settings, sanitizer, None))
}

fn layered(
    runtime_id: RuntimeId,
    source: Arc<dyn RuntimeSource>,
    settings: &StackSettings,
    sanitizer: Arc<Sanitizer>,
    monitor: Option<Arc<Monitor>>,
) -> impl tower::Service<
    SourceRequest,
    Response = SourceResponse,
    Error = ApiError,
    Future = impl Future<Output = Result<SourceResponse, ApiError>> + Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    // Not boxed here: `build` boxes the calls' stack once, with its diagnostics around it.
    ServiceBuilder::new()
        // Scrubs secrets from everything that leaves the stack, errors and stream frames included.
        .layer(SanitizeLayer::new(sanitizer.clone()))
        // Fails calls at once while the source is known down, and wakes the monitor when one fails so.
        .option_layer(monitor.map(CircuitLayer::new))
        // The one boundary where the stack's own failures become SPEC §5 codes naming this runtime.
        .layer(MapErrorLayer::new(runtime_id.clone(), sanitizer))
        // Bounds each call, waiting for a bulkhead slot included, so a hung source cannot hold a caller.
        .layer(DeadlineLayer::new(settings.deadlines.clone()))
        // Bounds concurrent calls per source, so one slow source cannot absorb the backend's capacity.
        .layer(BulkheadLayer::new(settings.max_in_flight))
        .service(SourceService::new(source))
}

/// Default deadlines, also used by tests.
pub(crate) const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
