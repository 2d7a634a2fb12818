//! Deciding what a failed exchange means: the typed reason, the words, and whether a retry may help.
//!
//! Messages are written here from the kind of failure, never copied from the HTTP client (its errors name
//! the URL); a provider's own message is quoted only after scrubbing, and never for refused credentials.

use std::time::Duration;

use runtime_api::FailureReason;

use super::retry;
use super::scrub::Scrubber;
use crate::executor::ExecutorError;
use crate::profile::OpenAiSettings;

/// Most of an error answer read, and most of a provider's message quoted.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
const MAX_QUOTED_CHARS: usize = 500;

/// A failed attempt, and whether another may succeed.
#[derive(Debug)]
pub(super) struct Failed {
    pub(super) error: ExecutorError,
    /// Safe and useful to retry: nothing was streamed and the failure may pass.
    pub(super) retryable: bool,
    /// How long the provider asked us to wait (`Retry-After`).
    pub(super) retry_after: Option<Duration>,
}

/// A non-success answer, classified by status, with the provider's message where it helps.
pub(super) async fn from_response(
    mut response: reqwest::Response,
    settings: &OpenAiSettings,
    has_key: bool,
    scrubber: &Scrubber,
) -> Failed {
    let status = response.status().as_u16();
    let retry_after = retry::retry_after(response.headers());
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    let quoted = provider_message(&String::from_utf8_lossy(&body), scrubber);
    let with_quote = |text: String| match &quoted {
        Some(quote) => format!("{text}: {quote}"),
        None => text,
    };
    let model = &settings.model;
    let (reason, message) = match status {
        401 | 403 if has_key => {
            (FailureReason::ProviderAuthFailed, format!("the provider refused the API key (HTTP {status})"))
        }
        401 | 403 => (
            FailureReason::ProviderAuthFailed,
            format!("the provider wants an API key (HTTP {status}); the profile sets no api_key_ref"),
        ),
        404 => (
            FailureReason::ProviderModelNotFound,
            with_quote(format!(
                "the provider does not serve model {model} (HTTP 404; check model, and that base_url ends in /v1)"
            )),
        ),
        400 | 422 if quoted.as_deref().is_some_and(names_a_missing_model) => (
            FailureReason::ProviderModelNotFound,
            with_quote(format!("the provider does not serve model {model} (HTTP {status})")),
        ),
        408 => (FailureReason::ProviderTimeout, format!("the provider timed out the request (HTTP {status})")),
        429 => {
            (FailureReason::ProviderRateLimited, with_quote("the provider is rate limiting requests (HTTP 429)".into()))
        }
        400..=499 => {
            (FailureReason::ProviderBadRequest, with_quote(format!("the provider refused the request (HTTP {status})")))
        }
        500..=599 => (FailureReason::ProviderUnavailable, with_quote(format!("the provider failed (HTTP {status})"))),
        _ => (
            FailureReason::ProviderProtocolError,
            format!("the provider answered HTTP {status} instead of an event stream (check base_url)"),
        ),
    };
    let retryable = matches!(status, 429 | 502 | 503 | 504);
    Failed { error: ExecutorError::new(reason, message), retryable, retry_after }
}

/// A request that got no answer: the connection could not be made or broke before the answer began.
pub(super) fn from_transport(error: &reqwest::Error) -> Failed {
    let cause = io_cause(error);
    let message = if error.is_connect() {
        format!("cannot connect to the provider{cause}")
    } else if error.is_timeout() {
        format!("connecting to the provider timed out{cause}")
    } else {
        format!("the connection to the provider failed before it answered{cause}")
    };
    // Nothing was answered, so nothing was streamed: retrying cannot duplicate output.
    let retryable = !error.is_builder();
    Failed { error: ExecutorError::new(FailureReason::ProviderUnavailable, message), retryable, retry_after: None }
}

/// No first token within `request_timeout_s`.
pub(super) fn no_first_token(request_timeout: Duration) -> ExecutorError {
    ExecutorError::new(
        FailureReason::ProviderTimeout,
        format!("no first token within request_timeout_s ({} s)", request_timeout.as_secs()),
    )
}

/// A retry was due, but waiting for it would pass the first-token deadline.
pub(super) fn out_of_time(failed: Failed, pause: Duration) -> ExecutorError {
    let mut error = failed.error;
    if failed.retry_after.is_some() {
        error.message.push_str(&format!(
            "; it asks to wait {} s, longer than request_timeout_s leaves",
            pause.as_secs_f64().ceil() as u64
        ));
    }
    error
}

/// The message an error answer carries (`{"error": {"message"}}`, `{"error": "..."}`, `{"message"}`,
/// `{"detail"}`, or its first line of text), on one line, scrubbed and shortened.
pub(super) fn provider_message(body: &str, scrubber: &Scrubber) -> Option<String> {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => {
            let error = &json["error"];
            [&error["message"], error, &json["message"], &json["detail"]]
                .into_iter()
                .find_map(|v| v.as_str().map(str::to_owned))?
        }
        Err(_) => body.lines().map(str::trim).find(|l| !l.is_empty())?.to_owned(),
    };
    // One line: a provider's message lands in log lines and one-line notices.
    let text = scrubber.text(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    if text.is_empty() {
        return None;
    }
    let mut quoted: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    Some(quoted)
}

/// Some servers (LiteLLM, vLLM's older releases) refuse an unknown model with 400 instead of 404.
fn names_a_missing_model(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("model")
        && ["not found", "does not exist", "invalid model", "unknown model", "no such model"]
            .iter()
            .any(|phrase| message.contains(phrase))
}

/// `" (connection refused)"` and the like, from the innermost I/O error, never its text (it may carry an
/// address).
fn io_cause(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            let kind = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused",
                std::io::ErrorKind::ConnectionReset => "connection reset",
                std::io::ErrorKind::ConnectionAborted => "connection aborted",
                std::io::ErrorKind::TimedOut => "timed out",
                std::io::ErrorKind::UnexpectedEof => "connection closed",
                std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => "unreachable",
                _ => "network error",
            };
            return format!(" ({kind})");
        }
        source = current.source();
    }
    String::new()
}
