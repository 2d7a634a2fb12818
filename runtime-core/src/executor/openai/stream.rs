//! Reading a streamed answer: server-sent events (decoded by `eventsource-stream`) into deltas and reply
//! facts, with the first-token and idle time limits and bounds on what a provider may send.
//!
//! Real servers differ, and all of these work: keep-alive comments, CRLF line ends, a role-only first
//! delta, empty deltas, `finish_reason` in a chunk of its own, a usage chunk with or without `choices`, and
//! a stream that ends with `data: [DONE]` or simply ends after `finish_reason`. An `{"error": ...}` chunk
//! (or an `event: error`) inside a 200 stream fails the turn with the provider's message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::{FutureExt, StreamExt};
use runtime_api::{FailureReason, Usage};
use serde::Deserialize;
use tokio::time::Instant;

use super::failure::{no_first_token, provider_message};
use super::scrub::Scrubber;
use crate::executor::{ExecutorError, ReplyFacts, TurnOutput};

/// Most text a reply may hold; beyond it the turn fails rather than growing the transcript without end.
pub(super) const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// Most bytes an answer may stream (chunks carry much more than their text).
pub(super) const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;
/// Most bytes between two events: the decoder rescans what it holds of an unfinished event at every read,
/// so an endless line would cost time as well as memory.
pub(super) const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The time limits of one answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// The first token must arrive by then.
    pub(super) first_token_by: Instant,
    /// Longest silence once output streams.
    pub(super) idle: Duration,
    /// What `first_token_by` was derived from, for the message.
    pub(super) request_timeout: Duration,
}

/// Why the byte stream stopped: the connection, or a size bound.
#[derive(Debug, thiserror::Error)]
enum Fault {
    #[error("transport")]
    Transport,
    #[error("stream too large")]
    TooLarge,
    #[error("event too large")]
    EventTooLarge,
}

/// One `chat.completion.chunk` (or the error object some servers send instead).
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<RawUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    /// What reasoning models (served by vLLM, Ollama, DeepSeek's API) stream before their answer.
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
}

#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// What has been seen of the reply so far.
#[derive(Default)]
struct Progress {
    /// Bytes of reply text written.
    text_bytes: usize,
    /// A reasoning model has begun to think aloud (not recorded, but it is streaming).
    reasoning: bool,
    finish_reason: Option<String>,
    model_noted: bool,
}

impl Progress {
    /// Whether the provider has begun its answer, after which silences are bounded by the idle limit
    /// rather than the first-token deadline.
    fn started(&self) -> bool {
        self.text_bytes > 0 || self.reasoning || self.finish_reason.is_some()
    }
}

/// Streams `response` into `output` until the reply ends; the turn fails with a typed reason otherwise.
pub(super) async fn read(
    response: reqwest::Response,
    output: &mut dyn TurnOutput,
    limits: Limits,
    scrubber: &Scrubber,
) -> Result<(), ExecutorError> {
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Some(content_type) = content_type
        && !content_type.trim_start().to_ascii_lowercase().starts_with("text/event-stream")
    {
        return Err(match tokio::time::timeout_at(limits.first_token_by, not_a_stream(response, scrubber)).await {
            Ok(error) => error,
            Err(_) => no_first_token(limits.request_timeout),
        });
    }

    // Updated by the byte stream, read when a time limit fires: bytes that complete no event (a keep-alive
    // comment, half a chunk) still show the provider is alive.
    let origin = Instant::now();
    let last_bytes = Arc::new(AtomicU64::new(0));
    // Reset whenever an event comes out of the decoder.
    let since_event = Arc::new(AtomicUsize::new(0));
    let (seen, pending) = (last_bytes.clone(), since_event.clone());
    let mut total = 0;
    let bytes = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(|_| Fault::Transport)?;
        seen.store(origin.elapsed().as_millis() as u64, Ordering::Relaxed);
        total += chunk.len();
        if total > MAX_STREAM_BYTES {
            return Err(Fault::TooLarge);
        }
        if pending.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len() > MAX_EVENT_BYTES {
            return Err(Fault::EventTooLarge);
        }
        Ok(chunk)
    });
    let mut events = bytes.eventsource();
    let mut progress = Progress::default();
    loop {
        let deadline = if progress.started() {
            origin + Duration::from_millis(last_bytes.load(Ordering::Relaxed)) + limits.idle
        } else {
            limits.first_token_by
        };
        let item = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(item) => item,
            // The reply is whole; only its usage chunk (or the stream's end) is missing.
            Err(_) if progress.finish_reason.is_some() => return Ok(()),
            Err(_) if progress.started() => {
                let quiet_since = origin + Duration::from_millis(last_bytes.load(Ordering::Relaxed));
                if quiet_since + limits.idle > Instant::now() {
                    continue;
                }
                let message = format!("the provider sent nothing for idle_timeout_s ({} s)", limits.idle.as_secs());
                return Err(ExecutorError::new(FailureReason::ProviderTimeout, message));
            }
            Err(_) => return Err(no_first_token(limits.request_timeout)),
        };
        let mut text = String::new();
        since_event.store(0, Ordering::Relaxed);
        let mut flow = handle(item, &mut text, output, &mut progress, scrubber);
        // Events already decoded (one read often holds many) go out as one delta: fewer events for
        // subscribers to keep up with, and no wait for anything that has not arrived.
        while matches!(flow, Flow::Continue) {
            let Some(item) = events.next().now_or_never() else { break };
            since_event.store(0, Ordering::Relaxed);
            flow = handle(item, &mut text, output, &mut progress, scrubber);
        }
        if !text.is_empty() {
            output.delta(&text);
        }
        if let Flow::End(result) = flow {
            return result;
        }
    }
}

/// Whether to read on.
enum Flow {
    Continue,
    End(Result<(), ExecutorError>),
}

type Item = Option<Result<eventsource_stream::Event, EventStreamError<Fault>>>;

/// Takes one decoded event (or the stream's end or failure): its text goes to `text`, its facts to
/// `output`.
fn handle(
    item: Item,
    text: &mut String,
    output: &mut dyn TurnOutput,
    progress: &mut Progress,
    scrubber: &Scrubber,
) -> Flow {
    let finished = progress.finish_reason.is_some();
    let event = match item {
        None if finished => return Flow::End(Ok(())),
        None => return Flow::End(Err(unavailable("the provider closed the stream before the reply finished"))),
        Some(Err(EventStreamError::Transport(Fault::TooLarge))) => {
            return Flow::End(Err(protocol(format!("the answer grew past {} MiB", MAX_STREAM_BYTES >> 20))));
        }
        Some(Err(EventStreamError::Transport(Fault::EventTooLarge))) => {
            let message = format!("the provider sent {} MiB without completing an event", MAX_EVENT_BYTES >> 20);
            return Flow::End(Err(protocol(message)));
        }
        Some(Err(EventStreamError::Transport(Fault::Transport))) if finished => return Flow::End(Ok(())),
        Some(Err(EventStreamError::Transport(Fault::Transport))) => {
            let message = "the connection to the provider broke before the reply finished";
            return Flow::End(Err(unavailable(message)));
        }
        Some(Err(EventStreamError::Utf8(_))) => return Flow::End(Err(protocol("the event stream is not valid UTF-8"))),
        Some(Err(EventStreamError::Parser(_))) => {
            return Flow::End(Err(protocol("the answer is not a valid event stream")));
        }
        Some(Ok(event)) => event,
    };
    match event.event.as_str() {
        "error" => return Flow::End(Err(provider_error(&event.data, scrubber))),
        "" | "message" => {}
        // Named events of extensions this executor does not read.
        _ => return Flow::Continue,
    }
    let data = event.data.trim();
    if data == "[DONE]" {
        return Flow::End(Ok(()));
    }
    if data.is_empty() {
        return Flow::Continue;
    }
    let Ok(chunk) = serde_json::from_str::<Chunk>(data) else {
        let message = "the provider sent a chunk that is not a chat completion chunk (bad JSON)";
        return Flow::End(Err(protocol(message)));
    };
    match apply(chunk, text, output, progress, scrubber) {
        Ok(()) => Flow::Continue,
        Err(error) => Flow::End(Err(error)),
    }
}

/// Takes one chunk's text (into `text`) and facts (to `output`).
fn apply(
    chunk: Chunk,
    text: &mut String,
    output: &mut dyn TurnOutput,
    progress: &mut Progress,
    scrubber: &Scrubber,
) -> Result<(), ExecutorError> {
    if let Some(error) = chunk.error {
        return Err(provider_error(&serde_json::json!({ "error": error }).to_string(), scrubber));
    }
    let mut facts = ReplyFacts::default();
    if !progress.model_noted
        && let Some(model) = chunk.model.filter(|m| !m.trim().is_empty())
    {
        facts.model = Some(scrubber.text(&model).chars().take(256).collect());
        progress.model_noted = true;
    }
    if let Some(usage) = chunk.usage {
        let prompt_tokens = usage.prompt_tokens.unwrap_or(0);
        let completion_tokens = usage.completion_tokens.unwrap_or(0);
        let total_tokens = usage.total_tokens.unwrap_or(prompt_tokens.saturating_add(completion_tokens));
        facts.usage = Some(Usage { prompt_tokens, completion_tokens, total_tokens });
    }
    // One choice is asked for; a server that sends more streams the others with higher indexes.
    for choice in chunk.choices.unwrap_or_default().into_iter().filter(|c| c.index.unwrap_or(0) == 0) {
        let delta = choice.delta.unwrap_or(Delta { content: None, reasoning_content: None });
        if delta.reasoning_content.is_some_and(|r| !r.is_empty()) {
            progress.reasoning = true;
        }
        if let Some(piece) = delta.content.filter(|t| !t.is_empty()) {
            progress.text_bytes += piece.len();
            if progress.text_bytes > MAX_REPLY_BYTES {
                let limit = MAX_REPLY_BYTES >> 20;
                return Err(protocol(format!("the reply grew past the runtime's limit of {limit} MiB")));
            }
            text.push_str(&piece);
        }
        if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
            facts.finish_reason = Some(scrubber.text(&reason).chars().take(64).collect());
            progress.finish_reason = facts.finish_reason.clone();
        }
    }
    if facts != ReplyFacts::default() {
        output.note(facts);
    }
    Ok(())
}

/// A 200 answer that is not an event stream: an error object some servers send this way, or a server
/// that ignored `stream: true`.
async fn not_a_stream(response: reqwest::Response, scrubber: &Scrubber) -> ExecutorError {
    let mut body = Vec::new();
    let mut response = response;
    while body.len() < 64 * 1024 {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&body);
    let is_error = serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|json| !json["error"].is_null());
    if is_error {
        return provider_error(&text, scrubber);
    }
    protocol("the provider did not answer with an event stream (does it support stream: true?)")
}

fn provider_error(data: &str, scrubber: &Scrubber) -> ExecutorError {
    let message = match provider_message(data, scrubber) {
        Some(quoted) => format!("the provider reported an error: {quoted}"),
        None => "the provider reported an error".to_owned(),
    };
    ExecutorError::new(FailureReason::ProviderError, message)
}

fn protocol(message: impl Into<String>) -> ExecutorError {
    ExecutorError::new(FailureReason::ProviderProtocolError, message)
}

fn unavailable(message: &str) -> ExecutorError {
    ExecutorError::new(FailureReason::ProviderUnavailable, message)
}
