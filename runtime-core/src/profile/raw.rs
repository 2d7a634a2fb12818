//! The profiles file as written, and its validation into [`Profile`]s, collecting every problem.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::openai::{self, RawOpenAi};
use super::{DEFAULT_CHUNK_DELAY_MS, HistoryBounds, Profile, check_text, echo_profile};

const MAX_CHUNK_DELAY_MS: u64 = 60_000;
const MAX_SYSTEM_PROMPT_CHARS: usize = 16_384;
const MAX_DESCRIPTION_CHARS: usize = 500;

/// Why a file yielded no profiles.
pub(super) enum Refusal {
    /// Not TOML, or a field of the wrong type or name; the message names line and column.
    Syntax(String),
    /// Every problem of every profile, each naming the profile.
    Invalid(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    profiles: Vec<RawProfile>,
}

/// One `[[profiles]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    /// What `create` names it by.
    name: String,
    /// `echo` or `openai`.
    executor: String,
    /// Shown in profile pickers.
    description: Option<String>,
    /// Instructions sent before the conversation (openai) or kept for executors that read it.
    system_prompt: Option<String>,
    /// Echo only: pause between streamed pieces.
    chunk_delay_ms: Option<u64>,
    // The fields only the openai executor reads, documented on `RawOpenAi`. They are listed here rather
    // than flattened in, because serde cannot refuse unknown keys through `flatten`.
    base_url: Option<String>,
    model: Option<String>,
    api_key_ref: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u64>,
    max_history_messages: Option<u64>,
    max_context_chars: Option<u64>,
    request_timeout_s: Option<u64>,
    idle_timeout_s: Option<u64>,
    max_retries: Option<u64>,
}

/// Parses and validates the whole file.
pub(super) fn parse(text: &str, dir: &Path) -> Result<Vec<Profile>, Refusal> {
    let file: RawFile = toml::from_str(text).map_err(|e| Refusal::Syntax(e.to_string().trim().to_owned()))?;
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    let mut profiles = Vec::new();
    for (index, raw) in file.profiles.into_iter().enumerate() {
        let label = format!("profile #{} ({:?})", index + 1, raw.name);
        if !names.insert(raw.name.clone()) {
            problems.push(format!("{label}: the name is used by an earlier profile"));
            continue;
        }
        match raw.build(dir) {
            Ok(profile) => profiles.push(profile),
            Err(errors) => problems.extend(errors.into_iter().map(|e| format!("{label}: {e}"))),
        }
    }
    if problems.is_empty() { Ok(profiles) } else { Err(Refusal::Invalid(problems)) }
}

impl RawProfile {
    /// The validated profile, or every problem with it.
    fn build(self, dir: &Path) -> Result<Profile, Vec<String>> {
        let mut problems = Vec::new();
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            problems.push("name must be 1 to 64 letters, digits, '-', '_' or '.'".to_owned());
        }
        check_text(&mut problems, "system_prompt", self.system_prompt.as_deref(), MAX_SYSTEM_PROMPT_CHARS, true);
        check_text(&mut problems, "description", self.description.as_deref(), MAX_DESCRIPTION_CHARS, false);
        let openai = RawOpenAi {
            base_url: self.base_url,
            model: self.model,
            api_key_ref: self.api_key_ref,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            max_history_messages: self.max_history_messages,
            max_context_chars: self.max_context_chars,
            request_timeout_s: self.request_timeout_s,
            idle_timeout_s: self.idle_timeout_s,
            max_retries: self.max_retries,
        };
        let profile = match self.executor.as_str() {
            "echo" => {
                problems.extend(openai.set_fields().map(|f| format!("{f} applies only to openai profiles")));
                let delay = self.chunk_delay_ms.unwrap_or(DEFAULT_CHUNK_DELAY_MS);
                if delay > MAX_CHUNK_DELAY_MS {
                    problems.push(format!("chunk_delay_ms must be at most {MAX_CHUNK_DELAY_MS}"));
                }
                Some(echo_profile(self.name, Duration::from_millis(delay)))
            }
            "openai" => {
                if self.chunk_delay_ms.is_some() {
                    problems.push("chunk_delay_ms applies only to echo profiles".to_owned());
                }
                openai::build(openai, dir, &mut problems)
                    .map(|(executor, model, history)| openai_profile(self.name, executor, model, history))
            }
            other => {
                problems.push(format!("executor {other:?} is not known (expected echo or openai)"));
                None
            }
        };
        match profile {
            Some(mut profile) if problems.is_empty() => {
                profile.system_prompt = self.system_prompt;
                profile.description = self.description;
                Ok(profile)
            }
            _ => Err(problems),
        }
    }
}

fn openai_profile(
    name: String,
    executor: std::sync::Arc<dyn crate::Executor>,
    model: String,
    history: HistoryBounds,
) -> Profile {
    Profile::new(name, "openai", executor).with_model(model).with_history(history)
}
