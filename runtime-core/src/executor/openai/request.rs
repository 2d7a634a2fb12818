//! The chat completions request: the profile's system prompt, the bounded history and the new input.

use runtime_api::Role;
use serde::Serialize;

use crate::executor::TurnContext;
use crate::profile::OpenAiSettings;

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    stream: bool,
    /// Asks for a final chunk with token usage (OpenAI, vLLM, Ollama, LiteLLM and llama.cpp honour it).
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// The JSON body for `turn`. The history was already bounded when the turn started (see
/// `HistoryBounds`).
pub(super) fn body(settings: &OpenAiSettings, turn: &TurnContext) -> Vec<u8> {
    let system = turn.system_prompt.as_deref().map(|content| ChatMessage { role: "system", content });
    let conversation = turn.history.iter().chain(std::iter::once(&turn.input));
    let messages = system
        .into_iter()
        .chain(conversation.map(|m| ChatMessage { role: role(m.role), content: &m.content }))
        .collect();
    let request = ChatRequest {
        model: &settings.model,
        messages,
        stream: true,
        stream_options: StreamOptions { include_usage: true },
        temperature: settings.temperature,
        max_tokens: settings.max_tokens,
    };
    serde_json::to_vec(&request).expect("a request of strings and numbers serializes")
}

fn role(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        // Notices never reach an executor; a system-kind input is an instruction like the system prompt.
        Role::System | Role::Notice => "system",
    }
}

#[cfg(test)]
mod tests {
    use runtime_api::WorkerId;
    use serde_json::json;

    use super::*;
    use crate::executor::Message;

    #[test]
    fn the_body_streams_with_usage_and_orders_the_messages() {
        let mut settings = OpenAiSettings::new("http://x/v1", "m");
        settings.temperature = Some(0.5);
        let turn = TurnContext {
            worker_id: WorkerId::parse("w-1").unwrap(),
            turn_id: 2,
            system_prompt: Some("be brief".into()),
            history: vec![
                Message { role: Role::User, content: "a".into() },
                Message { role: Role::Assistant, content: "b".into() },
            ],
            input: Message { role: Role::User, content: "c".into() },
        };
        let body: serde_json::Value = serde_json::from_slice(&body(&settings, &turn)).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b"},
                    {"role": "user", "content": "c"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "temperature": 0.5,
            })
        );
    }
}
