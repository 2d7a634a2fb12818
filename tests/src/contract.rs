//! The behavioural contract of [`RuntimeSource`]: one set of checks that every source passes, so the
//! embedded, remote and local-compat sources (and test mocks) cannot drift apart.
//!
//! A source under test is configured as [`setup`] says (profiles, retention, queue and heartbeat; its
//! `model` profile points at a scripted model server the factory starts), and every check gets a fresh one
//! from the factory.

mod errors;
mod events;
mod lifecycle;
mod model;
mod paging;
pub mod read_only;
mod support;

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use runtime_api::RuntimeSource;

/// How a source under test must be configured.
pub mod setup {
    use std::time::Duration;

    use crate::model_server::ModelServer;

    /// Echo profiles the checks use: `fast` finishes at once, `slow` keeps a worker busy for a while.
    pub const PROFILES_TOML: &str = r#"
[[profiles]]
name = "fast"
executor = "echo"
chunk_delay_ms = 0

[[profiles]]
name = "slow"
executor = "echo"
chunk_delay_ms = 300
"#;
    /// Durable events the runtime retains for replay.
    pub const EVENT_RETENTION: usize = 32;
    /// Inputs a busy worker queues.
    pub const QUEUE_CAPACITY: usize = 2;
    /// Quiet time before a heartbeat.
    pub const HEARTBEAT: Duration = Duration::from_millis(300);
    /// The `openai` profile of [`profiles_toml`].
    pub const MODEL_PROFILE: &str = "model";
    /// The model it asks for.
    pub const MODEL: &str = "contract-model";
    /// Its description.
    pub const MODEL_DESCRIPTION: &str = "A scripted model";

    /// [`PROFILES_TOML`] and the [`MODEL_PROFILE`], an `openai` profile served by `model`'s default replies.
    pub fn profiles_toml(model: &ModelServer) -> String {
        let base_url = model.base_url();
        format!(
            "{PROFILES_TOML}\n[[profiles]]\nname = \"{MODEL_PROFILE}\"\nexecutor = \"openai\"\n\
             base_url = \"{base_url}\"\nmodel = \"{MODEL}\"\ndescription = \"{MODEL_DESCRIPTION}\"\n\
             system_prompt = \"You are brief.\"\nrequest_timeout_s = 10\nmax_retries = 0\n"
        )
    }

    /// A scripted model server and a profiles file whose `model` profile points at it.
    pub async fn model_profiles() -> (ModelServer, String) {
        let server = ModelServer::start().await;
        let toml = profiles_toml(&server);
        (server, toml)
    }
}

/// A source under test, and whatever must live as long as it (a process, a temp dir, ...).
pub struct Fixture {
    /// The source.
    pub source: Arc<dyn RuntimeSource>,
    _keep: Box<dyn Any + Send>,
}

impl Fixture {
    /// A fixture that needs nothing kept alive.
    pub fn new(source: Arc<dyn RuntimeSource>) -> Self {
        Fixture { source, _keep: Box::new(()) }
    }

    /// Keeps `guard` alive as long as the fixture.
    pub fn keeping(mut self, guard: impl Any + Send) -> Self {
        self._keep = Box::new(guard);
        self
    }
}

type Check = fn(Arc<dyn RuntimeSource>) -> BoxFuture<'static, ()>;

macro_rules! checks {
    ($($module:ident::$name:ident),* $(,)?) => {
        &[$((stringify!($name), |source| Box::pin($module::$name(source))),)*]
    };
}

/// Every check, named for the behaviour it asserts.
const CHECKS: &[(&str, Check)] = checks![
    lifecycle::input_runs_a_turn_that_completes_into_the_transcript,
    lifecycle::create_uses_the_default_profile_and_refuses_unknown_ones,
    lifecycle::input_while_busy_is_rejected_with_worker_busy,
    lifecycle::queued_inputs_run_in_order_after_the_current_turn,
    lifecycle::interrupt_cancels_the_running_turn_and_runs_the_new_input,
    lifecycle::cancel_aborts_a_running_turn_promptly,
    lifecycle::stop_is_idempotent_and_refuses_later_input,
    errors::unknown_worker_ids_answer_worker_not_found,
    errors::invalid_requests_answer_invalid_request,
    paging::worker_list_pages_are_bounded_and_complete,
    paging::transcript_pages_are_bounded_and_complete,
    events::subscriptions_open_with_a_snapshot_then_ordered_events,
    events::resume_after_a_cursor_has_no_gap_and_no_duplicate,
    events::expired_cursors_answer_cursor_expired,
    events::idle_streams_get_heartbeats,
    events::summary_describes_protocol_capabilities_and_counts,
    model::model_turns_stream_deltas_and_record_the_reply_with_its_facts,
    model::cancelling_a_model_turn_keeps_the_partial_reply_marked_cancelled,
    model::profiles_name_executor_and_model_but_never_where_the_model_lives,
];

/// The checks a read-only view passes, over data put there by [`read_only::seed`].
const READ_ONLY_CHECKS: &[(&str, Check)] = checks![
    read_only::a_view_is_read_only_and_counts_its_workers,
    read_only::a_view_pages_workers_and_transcripts,
    read_only::a_view_answers_unknown_ids_and_refuses_every_command,
    read_only::a_view_lists_the_profiles_its_workers_name,
];

/// Longest a single check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs every check against fresh sources from `make_source` and panics listing each failed check.
pub async fn contract_suite<F, Fut>(make_source: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    run(CHECKS, make_source).await;
}

/// Runs the read-only checks against views from `make_view`, each over data seeded with
/// [`read_only::seed`], and panics listing each failed check.
pub async fn contract_suite_read_only<F, Fut>(make_view: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    run(READ_ONLY_CHECKS, make_view).await;
}

async fn run<F, Fut>(checks: &[(&str, Check)], make_source: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let mut failures = Vec::new();
    for (name, check) in checks {
        let fixture = make_source().await;
        let run = AssertUnwindSafe(check(fixture.source.clone())).catch_unwind();
        match tokio::time::timeout(CHECK_TIMEOUT, run).await {
            Ok(Ok(())) => {}
            Ok(Err(panic)) => failures.push(format!("{name}: {}", panic_message(&*panic))),
            Err(_) => failures.push(format!("{name}: did not finish within {CHECK_TIMEOUT:?}")),
        }
        drop(fixture);
    }
    assert!(
        failures.is_empty(),
        "{} of {} contract checks failed:\n{}",
        failures.len(),
        checks.len(),
        failures.join("\n")
    );
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}
