//! Executors run turns: given the input and recent history, they stream output pieces until done.
//!
//! The state machine knows executors only through this trait. An executor never touches worker state: it
//! writes deltas and what it learns about the reply to a [`TurnOutput`] and returns; the runtime records the
//! result, and keeps what was written even when the turn is then cancelled or fails. Cancelling a turn drops
//! the executor's future, so an executor needs no cancellation logic of its own: whatever it holds (an HTTP
//! request, say) is dropped with it.

mod echo;
#[cfg(feature = "openai")]
mod openai;

use async_trait::async_trait;
use runtime_api::{FailureReason, Role, Usage, WorkerId};

pub use echo::EchoExecutor;
#[cfg(feature = "openai")]
pub use openai::{OpenAiExecutor, OpenAiSetupError};

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
    /// Earlier messages, oldest first, within the profile's history bounds.
    pub history: Vec<Message>,
    /// The input that started this turn.
    pub input: Message,
}

/// What an executor learned about its reply besides the text; fields left `None` change nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyFacts {
    /// The model that answers, as the provider names it.
    pub model: Option<String>,
    /// Why the provider ended the reply.
    pub finish_reason: Option<String>,
    /// Tokens the provider counted.
    pub usage: Option<Usage>,
}

/// Where an executor writes its output.
pub trait TurnOutput: Send {
    /// Appends a piece of output; subscribers see it at once as a `turn_delta` event.
    fn delta(&mut self, text: &str);

    /// Records facts about the reply; set fields replace what an earlier call set.
    fn note(&mut self, facts: ReplyFacts);
}

/// Why a turn failed: a stable reason and words fit for a transcript (no credentials, no addresses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExecutorError {
    /// The code clients act on.
    pub reason: FailureReason,
    /// What happened, for people.
    pub message: String,
}

impl ExecutorError {
    /// A failure with a typed reason.
    pub fn new(reason: FailureReason, message: impl Into<String>) -> Self {
        ExecutorError { reason, message: message.into() }
    }

    /// A failure of an executor that has no more specific reason.
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(FailureReason::ExecutorFailed, message)
    }
}

/// Runs turns for the profiles that name it.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Runs one turn to completion, streaming its output.
    async fn run(&self, turn: TurnContext, output: &mut dyn TurnOutput) -> Result<(), ExecutorError>;
}
