//! Executors run turns: given the input and recent history, they stream output pieces until done.
//!
//! The state machine knows executors only through this trait. An executor never touches worker state:
//! it writes deltas to a [`TurnOutput`] and returns; the runtime records the result. Cancelling a turn
//! drops the executor's future, so an executor needs no cancellation logic of its own.

mod echo;

use async_trait::async_trait;
use runtime_api::{Role, WorkerId};

pub use echo::EchoExecutor;

/// One message of a conversation, as executors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `user`, `system` or `assistant`.
    pub role: Role,
    /// The text.
    pub content: String,
}

/// Everything an executor gets for one turn.
#[derive(Debug, Clone)]
pub struct TurnContext {
    /// The worker running the turn.
    pub worker_id: WorkerId,
    /// The turn number.
    pub turn_id: u64,
    /// The profile's system prompt, if it has one.
    pub system_prompt: Option<String>,
    /// Earlier messages, oldest first, bounded by the runtime's history limit (empty for an executor that
    /// says it does not read them).
    pub history: Vec<Message>,
    /// The input that started this turn.
    pub input: Message,
}

/// Where an executor writes its output.
pub trait TurnOutput: Send {
    /// Appends a piece of output; subscribers see it at once as a `turn_delta` event.
    fn delta(&mut self, text: &str);
}

/// Why a turn failed, in words fit for a transcript (no credentials, no internal addresses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExecutorError(pub String);

/// Runs turns for the profiles that name it.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Runs one turn to completion, streaming its output.
    async fn run(&self, turn: TurnContext, output: &mut dyn TurnOutput) -> Result<(), ExecutorError>;

    /// Whether the executor reads [`TurnContext::history`]; one that does not is spared copying it.
    fn reads_history(&self) -> bool {
        true
    }
}
