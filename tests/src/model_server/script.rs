//! What a [`super::ModelServer`] plays back: behaviours, stream steps, and OpenAI-shaped payloads.

use serde_json::{Value, json};
use std::time::Duration;

/// How the server answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 with `Content-Type: text/event-stream` and `Transfer-Encoding: chunked`; each step is written in order as its own HTTP chunk, then the terminating `0\r\n\r\n` chunk, unless a step hangs or cuts.
    Stream(Vec<Step>),
    /// Like `Stream` but with the given content type instead of text/event-stream.
    StreamAs {
        /// The `Content-Type` header value.
        content_type: String,
        /// The steps, as for `Stream`.
        steps: Vec<Step>,
    },
    /// A plain answer sent with `Content-Length` (`Content-Type: application/json` unless `headers` names one).
    Status {
        /// The status code.
        status: u16,
        /// Extra headers, written as given.
        headers: Vec<(String, String)>,
        /// The body.
        body: String,
    },
    /// Reads the request and never answers (the connection stays open until the client closes it).
    Hang,
    /// Reads the request and closes the connection without answering.
    Close,
}

/// One piece of a streamed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `data: <payload>\n\n`
    Data(String),
    /// Written exactly as given (CRLF line endings, partial lines, multi-line data, ...).
    Raw(String),
    /// A keep-alive comment line `: <text>\n\n`.
    Comment(String),
    /// A content chunk whose text is the wall-clock time it was written, in microseconds since the Unix
    /// epoch, and a space (see [`now_micros`]), for measuring how long a chunk takes to reach a client.
    Stamp,
    /// Waits before the next step.
    Sleep(Duration),
    /// Stops writing and never finishes (headers and earlier steps were sent).
    Hang,
    /// Closes the connection abruptly, without the terminating chunk.
    Cut,
}

impl Behaviour {
    /// The standard stream: role chunk, one content chunk per piece, finish "stop", usage(7, pieces), `[DONE]`.
    pub fn reply(pieces: &[&str]) -> Behaviour {
        scripted_reply(pieces, None, 7)
    }

    /// Like [`Behaviour::reply`], with a `Sleep(pause)` before each content chunk.
    pub fn reply_slowly(pieces: &[&str], pause: Duration) -> Behaviour {
        scripted_reply(pieces, Some(pause), 7)
    }

    /// What the server does when nothing is queued: streams "You said: <last user message>" word by word;
    /// slowly (100 ms a word) if the message starts with "slow", and if it starts with "hang", only
    /// "You said: " and then nothing, never finishing.
    pub fn default_for(body: &Value) -> Behaviour {
        let messages = body["messages"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let last_user =
            messages.iter().rev().find(|m| m["role"] == "user").map(|m| text_of(&m["content"])).unwrap_or_default();
        // A crude but predictable token count, so tests can assert exact usage numbers.
        let prompt = messages.iter().map(|m| text_of(&m["content"]).split_whitespace().count() as u64).sum();
        let said = format!("You said: {last_user}");
        let pieces: Vec<&str> = said.split_inclusive(' ').collect();
        if last_user.starts_with("hang") {
            return Behaviour::Stream(vec![
                Step::Data(role_chunk()),
                Step::Data(content_chunk("You ")),
                Step::Data(content_chunk("said: ")),
                Step::Hang,
            ]);
        }
        let pause = last_user.starts_with("slow").then_some(Duration::from_millis(100));
        scripted_reply(&pieces, pause, prompt)
    }
}

/// The text of a message's `content`, whether a plain string or a list of `{"type":"text","text":..}` parts.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
            texts.join(" ")
        }
        _ => String::new(),
    }
}

fn scripted_reply(pieces: &[&str], pause: Option<Duration>, prompt: u64) -> Behaviour {
    let mut steps = vec![Step::Data(role_chunk())];
    for piece in pieces {
        if let Some(pause) = pause {
            steps.push(Step::Sleep(pause));
        }
        steps.push(Step::Data(content_chunk(piece)));
    }
    steps.push(Step::Data(finish_chunk("stop")));
    steps.push(Step::Data(usage_chunk(prompt, pieces.len() as u64)));
    steps.push(Step::Data("[DONE]".to_owned()));
    Behaviour::Stream(steps)
}

/// A `chat.completion.chunk` with one choice carrying `delta` and `finish_reason`.
fn choice_chunk(delta: Value, finish_reason: Value) -> String {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "scripted-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
    .to_string()
}

/// A chunk whose delta carries `text` as content.
pub fn content_chunk(text: &str) -> String {
    choice_chunk(json!({"content": text}), Value::Null)
}

/// The opening chunk: delta `{"role":"assistant","content":""}`.
pub fn role_chunk() -> String {
    choice_chunk(json!({"role": "assistant", "content": ""}), Value::Null)
}

/// A chunk with an empty delta.
pub fn empty_chunk() -> String {
    choice_chunk(json!({}), Value::Null)
}

/// A chunk with an empty delta and the given `finish_reason`.
pub fn finish_chunk(reason: &str) -> String {
    choice_chunk(json!({}), json!(reason))
}

/// A chunk with no choices and a `usage` object.
pub fn usage_chunk(prompt: u64, completion: u64) -> String {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "scripted-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    })
    .to_string()
}

/// An OpenAI error body: `{"error":{"message":..,"type":..,"code":null}}`.
pub fn error_object(message: &str, kind: &str) -> String {
    json!({"error": {"message": message, "type": kind, "code": null}}).to_string()
}

/// Microseconds since the Unix epoch on the wall clock, which every process on the machine shares.
pub fn now_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}
