//! The stack every call to a source passes through.
//!
//! A call is one [`SourceRequest`] (one variant per operation). [`SourceStack::call`] takes it through each
//! concern in turn, outermost first: diagnostics, sanitizing, the circuit, error mapping, the deadline, the
//! bulkhead, and the source. Each concern is its own module; the stack calls them as plain functions inside
//! one future rather than as tower layers, each with its own boxed future and its own clone per call, which
//! cost as much as the call to an embedded runtime (docs/benchmarks.md). Errors and event streams come back
//! through the same steps, so typing, sanitization and bookkeeping happen here once instead of in every
//! handler.

mod adapter;
pub mod bulkhead;
pub mod circuit;
pub mod deadline;
pub mod diagnostics;
pub mod map_error;
pub mod sanitize;

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime_api::{
    ApiError, Command, CommandAck, DetailAnswer, FrameStream, IdempotencyKey, ListQuery, ProfileList, RuntimeId,
    RuntimeSource, RuntimeSummary, SubscribeRequest, TranscriptPage, TranscriptQuery, WorkerId, WorkerPage,
};

use crate::health::{HealthSettings, Monitor};
use crate::metrics::Metrics;
pub use bulkhead::Bulkhead;
pub use deadline::Deadlines;
pub use diagnostics::{Diagnostics, SourceHealth};
pub use sanitize::Sanitizer;

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

/// Errors inside error mapping; outside it every error is an [`ApiError`].
pub type BoxError = tower::BoxError;

/// A source behind its whole stack; clones share it.
#[derive(Clone)]
pub struct SourceStack {
    steps: Arc<Steps>,
}

/// What each step of a stack needs, kept once per source.
struct Steps {
    runtime_id: RuntimeId,
    source: Arc<dyn RuntimeSource>,
    deadlines: Deadlines,
    bulkhead: Bulkhead,
    sanitizer: Arc<Sanitizer>,
    /// Absent in the stack a health probe or a connection test goes through.
    circuit: Option<Arc<Monitor>>,
    /// Absent in the same stacks: probes and tests are not calls a user made.
    diagnostics: Option<Diagnostics>,
}

impl SourceStack {
    /// Sends one request through every step, outermost first.
    pub async fn call(&self, request: SourceRequest) -> Result<SourceResponse, ApiError> {
        let steps = &*self.steps;
        // The whole latency, any wait for a bulkhead slot included, of what the caller finally gets.
        let operation = request.operation();
        let started = steps.diagnostics.is_some().then(Instant::now);
        let result = steps.scrubbed(request).await;
        if let (Some(diagnostics), Some(started)) = (&steps.diagnostics, started) {
            diagnostics.record(&steps.runtime_id, operation, &result, started.elapsed(), steps.circuit.as_deref());
        }
        result
    }
}

impl Steps {
    /// Sanitizing, around the circuit: the circuit's refusal is scrubbed like any other error.
    async fn scrubbed(&self, request: SourceRequest) -> Result<SourceResponse, ApiError> {
        let monitor = self.circuit.as_deref();
        let result = match monitor.map_or(Ok(()), Monitor::admit) {
            Ok(()) => {
                let result = self.typed(request).await;
                if let Some(monitor) = monitor {
                    circuit::observe(monitor, &result);
                }
                result
            }
            Err(refused) => Err(refused),
        };
        sanitize::scrub(result, &self.sanitizer)
    }

    /// Error mapping, around the deadline, around the bulkhead, around the source: the wait for a slot
    /// counts against the deadline, and every failure becomes a SPEC §5 code naming this runtime.
    async fn typed(&self, request: SourceRequest) -> Result<SourceResponse, ApiError> {
        let limit = self.deadlines.of(request.operation());
        let bounded = deadline::within(limit, async {
            let _slot = self.bulkhead.enter().await;
            adapter::call(&*self.source, request).await.map_err(BoxError::from)
        });
        bounded.await.map_err(|error| map_error::classify(&self.runtime_id, &self.sanitizer, error))
    }
}

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
    /// The monitor's probes: the same steps without the circuit and the call diagnostics.
    pub probes: SourceStack,
}

/// Puts a registered source behind its stack.
pub fn build(
    runtime_id: RuntimeId,
    source: Arc<dyn RuntimeSource>,
    settings: &StackSettings,
    sanitizer: Arc<Sanitizer>,
    health: Arc<SourceHealth>,
    monitor: Arc<Monitor>,
    metrics: Arc<Metrics>,
) -> BuiltStack {
    let diagnostics = Diagnostics::new(health, metrics);
    let probes = guarded(runtime_id.clone(), source.clone(), settings, sanitizer.clone());
    let calls = Steps {
        circuit: Some(monitor),
        diagnostics: Some(diagnostics),
        ..unwatched(runtime_id, source, settings, sanitizer)
    };
    BuiltStack { calls: SourceStack { steps: Arc::new(calls) }, probes }
}

/// The stack without its circuit and diagnostics: what a call to a source that is not registered (a
/// connection test) and a health probe go through, so they are bounded, typed and scrubbed exactly like
/// every other call. It has a bulkhead of its own, so probes never wait behind the calls they judge.
pub fn guarded(
    runtime_id: RuntimeId,
    source: Arc<dyn RuntimeSource>,
    settings: &StackSettings,
    sanitizer: Arc<Sanitizer>,
) -> SourceStack {
    SourceStack { steps: Arc::new(unwatched(runtime_id, source, settings, sanitizer)) }
}

fn unwatched(
    runtime_id: RuntimeId,
    source: Arc<dyn RuntimeSource>,
    settings: &StackSettings,
    sanitizer: Arc<Sanitizer>,
) -> Steps {
    Steps {
        runtime_id,
        source,
        deadlines: settings.deadlines.clone(),
        bulkhead: Bulkhead::new(settings.max_in_flight),
        sanitizer,
        circuit: None,
        diagnostics: None,
    }
}

/// Default deadlines, also used by tests.
pub(crate) const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
