//! Running one `openai` turn against a scripted model server and collecting what it wrote.
#![allow(unused_imports)]

use std::sync::Arc;
use std::time::Duration;

use runtime_api::{Role, WorkerId};
use runtime_core::executor::OpenAiExecutor;
use runtime_core::profile::OpenAiSettings;
use runtime_core::{Executor, ExecutorError, Message, ReplyFacts, TurnContext, TurnOutput};
pub use tests::model_server::{
    Behaviour, ModelServer, Step, content_chunk, empty_chunk, error_object, finish_chunk, role_chunk, usage_chunk,
};

/// What a turn wrote.
#[derive(Debug, Default)]
pub struct Collected {
    pub deltas: Vec<String>,
    pub facts: ReplyFacts,
}

impl Collected {
    pub fn text(&self) -> String {
        self.deltas.concat()
    }
}

impl TurnOutput for Collected {
    fn delta(&mut self, text: &str) {
        self.deltas.push(text.to_owned());
    }

    fn note(&mut self, facts: ReplyFacts) {
        if facts.model.is_some() {
            self.facts.model = facts.model;
        }
        if facts.finish_reason.is_some() {
            self.facts.finish_reason = facts.finish_reason;
        }
        if facts.usage.is_some() {
            self.facts.usage = facts.usage;
        }
    }
}

/// Settings for `server` with short time limits and quick tests in mind.
pub fn settings(server: &ModelServer) -> OpenAiSettings {
    let mut settings = OpenAiSettings::new(server.base_url(), "test-model");
    settings.request_timeout = Duration::from_secs(5);
    settings.idle_timeout = Duration::from_secs(5);
    settings.max_retries = 2;
    settings
}

pub fn executor(settings: OpenAiSettings) -> Arc<OpenAiExecutor> {
    Arc::new(OpenAiExecutor::new(settings).expect("the executor builds"))
}

/// A turn with a system prompt, one earlier exchange and the input `hello`.
pub fn turn() -> TurnContext {
    TurnContext {
        worker_id: WorkerId::parse("w-1").unwrap(),
        turn_id: 2,
        system_prompt: Some("be brief".into()),
        history: vec![
            Message { role: Role::User, content: "hi".into() },
            Message { role: Role::Assistant, content: "hello!".into() },
        ],
        input: Message { role: Role::User, content: "hello".into() },
    }
}

/// Runs one turn.
pub async fn run(executor: &OpenAiExecutor) -> (Result<(), ExecutorError>, Collected) {
    let mut out = Collected::default();
    let result = executor.run(turn(), &mut out).await;
    (result, out)
}

/// Runs one turn with `settings` against a server that plays `behaviours` in order.
pub async fn play(behaviours: Vec<Behaviour>) -> (Result<(), ExecutorError>, Collected, ModelServer) {
    let server = ModelServer::start().await;
    for behaviour in behaviours {
        server.push(behaviour);
    }
    let (result, out) = run(&executor(settings(&server))).await;
    (result, out, server)
}

/// A stream of these steps.
pub fn stream(steps: Vec<Step>) -> Behaviour {
    Behaviour::Stream(steps)
}

pub fn data(payload: String) -> Step {
    Step::Data(payload)
}

pub fn done() -> Step {
    Step::Data("[DONE]".into())
}

/// A plain answer with a JSON body.
pub fn status(status: u16, body: &str) -> Behaviour {
    Behaviour::Status { status, headers: Vec::new(), body: body.to_owned() }
}
