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
    let io = innermost_io(error);
    let kind = io.map(std::io::Error::kind);
    if error.is_builder() {
        let message = "the request to the provider cannot be made (check base_url)";
        return Failed {
            error: ExecutorError::new(FailureReason::ProviderProtocolError, message),
            retryable: false,
            retry_after: None,
        };
    }
    // A refused certificate or a failed handshake: trying again will not change it.
    if io.is_some_and(is_tls) {
        let message =
            "the TLS handshake with the provider failed (is its certificate trusted, and does it speak https?)";
        return Failed {
            error: ExecutorError::new(FailureReason::ProviderUnavailable, message),
            retryable: false,
            retry_after: None,
        };
    }
    let cause = kind.map(describe).map(|k| format!(" ({k})")).unwrap_or_default();
    let message = if error.is_connect() {
        format!("cannot connect to the provider{cause}")
    } else if error.is_timeout() {
        format!("connecting to the provider timed out{cause}")
    } else {
        format!("the connection to the provider failed before it answered{cause}")
    };
    // Nothing was answered, so nothing was streamed: retrying cannot duplicate output.
    Failed {
        error: ExecutorError::new(FailureReason::ProviderUnavailable, message),
        retryable: true,
        retry_after: None,
    }
}

/// No first token within `request_timeout_s`.
pub(super) fn no_first_token(request_timeout: Duration) -> ExecutorError {
    ExecutorError::new(
        FailureReason::ProviderTimeout,
        format!("no first token within request_timeout_s ({} s)", request_timeout.as_secs()),
    )
}

/// A retry was due, but waiting for it would pass the first-token deadline.
pub(super) fn out_of_time(failed: Failed) -> ExecutorError {
    let mut error = failed.error;
    if let Some(asked) = failed.retry_after {
        let seconds = asked.as_secs_f64().ceil() as u64;
        error.message.push_str(&format!("; it asks to wait {seconds} s, longer than request_timeout_s leaves"));
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

/// Whether an I/O error wraps a rustls error (tokio-rustls nests it in one or two I/O errors, which
/// `source()` does not walk).
fn is_tls(mut io: &std::io::Error) -> bool {
    loop {
        match io.get_ref() {
            Some(inner) if inner.is::<rustls::Error>() => return true,
            Some(inner) => match inner.downcast_ref::<std::io::Error>() {
                Some(nested) => io = nested,
                None => return false,
            },
            None => return false,
        }
    }
}

/// The innermost I/O error, whose kind (never its text: it may carry an address) says what happened.
fn innermost_io(error: &reqwest::Error) -> Option<&std::io::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut found = None;
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            found = Some(io);
        }
        source = current.source();
    }
    found
}

fn describe(kind: std::io::ErrorKind) -> &'static str {
    match kind {
        std::io::ErrorKind::ConnectionRefused => "connection refused",
        std::io::ErrorKind::ConnectionReset => "connection reset",
        std::io::ErrorKind::ConnectionAborted => "connection aborted",
        std::io::ErrorKind::TimedOut => "timed out",
        std::io::ErrorKind::UnexpectedEof => "connection closed",
        std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => "unreachable",
        _ => "network error",
    }
}
