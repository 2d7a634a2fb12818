//! The fields of an `openai` profile: validation, defaults, and the settings the executor runs with.
//!
//! Validation does not depend on the `openai` cargo feature, so a build without it still tells an operator
//! everything wrong with a profile before saying the executor is missing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::HistoryBounds;
use crate::Executor;
use secrets::SecretRef;

/// Seconds to wait for the first token unless `request_timeout_s` says otherwise.
const DEFAULT_REQUEST_TIMEOUT_S: u64 = 60;
/// Longest pause between streamed chunks unless `idle_timeout_s` says otherwise.
const DEFAULT_IDLE_TIMEOUT_S: u64 = 30;
/// Retries before the first token unless `max_retries` says otherwise.
const DEFAULT_MAX_RETRIES: u32 = 2;
const MAX_TIMEOUT_S: u64 = 3_600;
const MAX_RETRIES: u64 = 10;
const MAX_MODEL_CHARS: usize = 256;
const MAX_BASE_URL_CHARS: usize = 2_048;
const MAX_HISTORY_MESSAGES: u64 = 10_000;
const MAX_CONTEXT_CHARS: u64 = 10_000_000;
const MAX_MAX_TOKENS: u64 = 10_000_000;

/// The openai fields of one `[[profiles]]` table, as written.
pub(super) struct RawOpenAi {
    /// Base URL of the OpenAI-compatible API, up to and including `/v1`.
    pub(super) base_url: Option<String>,
    /// The model to ask for.
    pub(super) model: Option<String>,
    /// `env:NAME` or `file:PATH` of the API key; none for servers that need no key.
    pub(super) api_key_ref: Option<String>,
    /// Sampling temperature, passed through (0 to 2).
    pub(super) temperature: Option<f64>,
    /// Most tokens of a reply, passed through.
    pub(super) max_tokens: Option<u64>,
    /// Most earlier messages sent with a turn.
    pub(super) max_history_messages: Option<u64>,
    /// Most characters of system prompt, history and input sent with a turn.
    pub(super) max_context_chars: Option<u64>,
    /// Seconds from the start of a turn to its first token, retries included.
    pub(super) request_timeout_s: Option<u64>,
    /// Longest pause between streamed chunks, in seconds.
    pub(super) idle_timeout_s: Option<u64>,
    /// Retries of a request that failed before its first token.
    pub(super) max_retries: Option<u64>,
}

/// What an `openai` executor is configured with. `Debug` hides the address and the key reference.
#[derive(Clone)]
pub struct OpenAiSettings {
    /// Base URL without a trailing slash; requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// The model to ask for.
    pub model: String,
    /// Where the API key is read from at the start of every turn.
    pub api_key: Option<SecretRef>,
    /// Sampling temperature, passed through.
    pub temperature: Option<f64>,
    /// Most tokens of a reply, passed through.
    pub max_tokens: Option<u64>,
    /// From the start of a turn to its first token, retries included.
    pub request_timeout: Duration,
    /// Longest pause between streamed chunks.
    pub idle_timeout: Duration,
    /// Retries before the first token.
    pub max_retries: u32,
}

impl OpenAiSettings {
    /// Settings for `model` at `base_url` with every default.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiSettings {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: model.into(),
            api_key: None,
            temperature: None,
            max_tokens: None,
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_S),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_S),
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

impl std::fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiSettings")
            .field("base_url", &"<redacted>")
            .field("model", &self.model)
            .field("api_key", &self.api_key)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl RawOpenAi {
    /// The names of the fields that are set, for refusing them on other executors.
    pub(super) fn set_fields(&self) -> impl Iterator<Item = &'static str> {
        [
            ("base_url", self.base_url.is_some()),
            ("model", self.model.is_some()),
            ("api_key_ref", self.api_key_ref.is_some()),
            ("temperature", self.temperature.is_some()),
            ("max_tokens", self.max_tokens.is_some()),
            ("max_history_messages", self.max_history_messages.is_some()),
            ("max_context_chars", self.max_context_chars.is_some()),
            ("request_timeout_s", self.request_timeout_s.is_some()),
            ("idle_timeout_s", self.idle_timeout_s.is_some()),
            ("max_retries", self.max_retries.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
    }
}

/// Validates the fields and builds the executor, with the model and history bounds the profile shows;
/// `None` after pushing every problem found. Relative `file:` references resolve against `dir`.
pub(super) fn build(
    raw: RawOpenAi,
    dir: &Path,
    problems: &mut Vec<String>,
) -> Option<(Arc<dyn Executor>, String, HistoryBounds)> {
    let before = problems.len();
    let base_url = match raw.base_url {
        Some(url) => check_base_url(&url, problems).then_some(url),
        None => {
            problems.push("base_url is required for openai profiles".to_owned());
            None
        }
    };
    let model = raw.model.unwrap_or_default();
    if model.trim().is_empty() {
        problems.push("model is required for openai profiles".to_owned());
    }
    super::check_text(problems, "model", Some(&model), MAX_MODEL_CHARS, false);
    let api_key = raw.api_key_ref.and_then(|reference| match SecretRef::parse(&reference) {
        Ok(reference) => Some(reference.resolved_against(dir)),
        Err(error) => {
            problems.push(format!("api_key_ref is invalid: {error}"));
            None
        }
    });
    if let Some(t) = raw.temperature
        && !(0.0..=2.0).contains(&t)
    {
        problems.push("temperature must be between 0 and 2".to_owned());
    }
    let max_tokens = bounded(problems, "max_tokens", raw.max_tokens, 1, MAX_MAX_TOKENS);
    let history = HistoryBounds {
        max_messages: bounded(problems, "max_history_messages", raw.max_history_messages, 0, MAX_HISTORY_MESSAGES)
            .map_or(HistoryBounds::DEFAULT.max_messages, |n| n as usize),
        max_chars: bounded(problems, "max_context_chars", raw.max_context_chars, 1, MAX_CONTEXT_CHARS)
            .map_or(HistoryBounds::DEFAULT.max_chars, |n| n as usize),
    };
    let seconds = |problems: &mut Vec<String>, field, value, default| {
        Duration::from_secs(bounded(problems, field, value, 1, MAX_TIMEOUT_S).unwrap_or(default))
    };
    let request_timeout = seconds(problems, "request_timeout_s", raw.request_timeout_s, DEFAULT_REQUEST_TIMEOUT_S);
    let idle_timeout = seconds(problems, "idle_timeout_s", raw.idle_timeout_s, DEFAULT_IDLE_TIMEOUT_S);
    let max_retries =
        bounded(problems, "max_retries", raw.max_retries, 0, MAX_RETRIES).map_or(DEFAULT_MAX_RETRIES, |n| n as u32);
    if problems.len() > before {
        return None;
    }
    let settings = OpenAiSettings {
        api_key,
        temperature: raw.temperature,
        max_tokens,
        request_timeout,
        idle_timeout,
        max_retries,
        ..OpenAiSettings::new(base_url?, model.clone())
    };
    executor(settings, problems).map(|executor| (executor, model, history))
}

#[cfg(feature = "openai")]
fn executor(settings: OpenAiSettings, problems: &mut Vec<String>) -> Option<Arc<dyn Executor>> {
    match crate::executor::OpenAiExecutor::new(settings) {
        Ok(executor) => Some(Arc::new(executor)),
        Err(error) => {
            problems.push(error.to_string());
            None
        }
    }
}

#[cfg(not(feature = "openai"))]
fn executor(_settings: OpenAiSettings, problems: &mut Vec<String>) -> Option<Arc<dyn Executor>> {
    problems.push("executor openai is not available in this build (runtime-core's `openai` feature is off)".into());
    None
}

/// An optional number within `min..=max`, pushing a problem when it is outside.
fn bounded(problems: &mut Vec<String>, field: &str, value: Option<u64>, min: u64, max: u64) -> Option<u64> {
    let value = value?;
    if (min..=max).contains(&value) {
        Some(value)
    } else {
        problems.push(format!("{field} must be between {min} and {max}"));
        None
    }
}

/// `http://` or `https://`, a host, no credentials, query or fragment, no spaces; the text of the URL is
/// never repeated in a problem, since it may carry a private address.
fn check_base_url(url: &str, problems: &mut Vec<String>) -> bool {
    let before = problems.len();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        problems.push("base_url must start with http:// or https://".to_owned());
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    // `host`, `host:port` or `[v6]:port`.
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !authority.ends_with(']') => (host, Some(port)),
        _ => (authority, None),
    };
    if host.is_empty() || host == "[]" {
        problems.push("base_url must name a host".to_owned());
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        problems.push("base_url's port must be a number from 1 to 65535".to_owned());
    }
    if authority.contains('@') {
        problems.push("base_url must not carry credentials; use api_key_ref".to_owned());
    }
    if url.contains(['?', '#']) {
        problems.push("base_url must not have a query or fragment".to_owned());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        problems.push("base_url must not contain spaces or control characters".to_owned());
    }
    if url.len() > MAX_BASE_URL_CHARS {
        problems.push(format!("base_url must be at most {MAX_BASE_URL_CHARS} characters"));
    }
    problems.len() == before
}
