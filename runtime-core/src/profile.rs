//! Profiles: the named recipes workers run with, loaded from the TOML file of SPEC §9.
//!
//! The file is read into raw structs (see [`raw`]), then validated as a whole so an operator sees every
//! problem at once. A `default` profile always exists: when the file does not define one, it is the built-in
//! echo.

mod openai;
mod raw;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use runtime_api::ProfileInfo;

use crate::executor::{EchoExecutor, Executor};

pub use openai::OpenAiSettings;

/// Name of the profile used when a create request names none.
pub const DEFAULT_PROFILE: &str = "default";
/// Pause between echo pieces when a profile does not set `chunk_delay_ms`.
pub const DEFAULT_CHUNK_DELAY_MS: u64 = 20;

/// How much earlier conversation a turn is given: the newest messages that fit both bounds, so the oldest go
/// first. The system prompt and the turn's own input are always given and count against `max_chars`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBounds {
    /// Most earlier messages.
    pub max_messages: usize,
    /// Most characters of system prompt, earlier messages and input together.
    pub max_chars: usize,
}

impl HistoryBounds {
    /// No earlier messages at all, for executors that do not read them.
    pub const NONE: HistoryBounds = HistoryBounds { max_messages: 0, max_chars: 0 };
    /// What a profile gets unless it says otherwise (`max_history_messages`, `max_context_chars`).
    pub const DEFAULT: HistoryBounds = HistoryBounds { max_messages: 50, max_chars: 60_000 };
}

/// A named recipe: which executor runs a worker's turns, and with what instructions.
pub struct Profile {
    name: String,
    executor_name: String,
    system_prompt: Option<String>,
    description: Option<String>,
    model: Option<String>,
    history: HistoryBounds,
    executor: Arc<dyn Executor>,
}

impl Profile {
    /// A profile running `executor`, labelled `executor_name` in every worker summary, with the default
    /// history bounds.
    pub fn new(name: impl Into<String>, executor_name: impl Into<String>, executor: Arc<dyn Executor>) -> Self {
        Profile {
            name: name.into(),
            executor_name: executor_name.into(),
            system_prompt: None,
            description: None,
            model: None,
            history: HistoryBounds::DEFAULT,
            executor,
        }
    }

    /// The same profile with a system prompt.
    pub fn with_system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// The same profile with other history bounds.
    pub fn with_history(mut self, history: HistoryBounds) -> Self {
        self.history = history;
        self
    }

    /// The same profile, naming the model it asks for.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The same profile with a description for pickers.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The executor's label (`echo`, `openai`, ...).
    pub fn executor_name(&self) -> &str {
        &self.executor_name
    }

    /// The system prompt, if any.
    pub fn system_prompt(&self) -> Option<&str> {
        self.system_prompt.as_deref()
    }

    /// The model it asks for, if its executor calls one.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// How much earlier conversation its turns get.
    pub fn history(&self) -> HistoryBounds {
        self.history
    }

    /// The executor.
    pub fn executor(&self) -> &Arc<dyn Executor> {
        &self.executor
    }

    /// What a profile picker may show: never the provider's address or key reference.
    pub fn info(&self) -> ProfileInfo {
        ProfileInfo {
            name: self.name.clone(),
            executor: self.executor_name.clone(),
            model: self.model.clone(),
            description: self.description.clone(),
        }
    }
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile").field("name", &self.name).field("executor", &self.executor_name).finish()
    }
}

/// The profiles a runtime offers, always including `default`.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Arc<Profile>>,
}

/// Why a profiles file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read profiles file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown fields.
    #[error("profiles file {origin}: {message}")]
    Syntax {
        /// The file, or `<inline>`.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file parsed but some profiles are wrong.
    #[error("profiles file {origin}: {}", problems.join("; "))]
    Invalid {
        /// The file, or `<inline>`.
        origin: String,
        /// Every problem found.
        problems: Vec<String>,
    },
}

impl ProfileSet {
    /// No profiles at all: for views that run nothing.
    pub(crate) fn empty() -> Self {
        ProfileSet { profiles: BTreeMap::new() }
    }

    /// Only the built-in `default` echo profile.
    pub fn builtin() -> Self {
        let mut set = ProfileSet { profiles: BTreeMap::new() };
        set.insert(default_profile());
        set
    }

    /// Reads and validates a profiles file; relative `file:` key references are resolved against its
    /// directory.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.to_owned(), source })?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), dir)
    }

    /// Validates profiles given as TOML text; relative `file:` references are resolved against the
    /// current directory.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        Self::parse(text, "<inline>", Path::new("."))
    }

    fn parse(text: &str, origin: &str, dir: &Path) -> Result<Self, ProfileError> {
        let profiles = raw::parse(text, dir).map_err(|error| match error {
            raw::Refusal::Syntax(message) => ProfileError::Syntax { origin: origin.to_owned(), message },
            raw::Refusal::Invalid(problems) => ProfileError::Invalid { origin: origin.to_owned(), problems },
        })?;
        let mut set = ProfileSet { profiles: BTreeMap::new() };
        for profile in profiles {
            set.insert(profile);
        }
        if !set.profiles.contains_key(DEFAULT_PROFILE) {
            set.insert(default_profile());
        }
        Ok(set)
    }

    /// Adds or replaces a profile (embedders use this to offer executors of their own).
    pub fn insert(&mut self, profile: Profile) {
        self.profiles.insert(profile.name.clone(), Arc::new(profile));
    }

    /// The profile with this name.
    pub fn get(&self, name: &str) -> Option<Arc<Profile>> {
        self.profiles.get(name).cloned()
    }

    /// What pickers show of every profile, by name.
    pub fn infos(&self) -> Vec<ProfileInfo> {
        self.profiles.values().map(|p| p.info()).collect()
    }
}

fn default_profile() -> Profile {
    echo_profile(DEFAULT_PROFILE, Duration::from_millis(DEFAULT_CHUNK_DELAY_MS))
}

/// An echo profile: it reads no history.
fn echo_profile(name: impl Into<String>, chunk_delay: Duration) -> Profile {
    Profile::new(name, "echo", Arc::new(EchoExecutor::new(chunk_delay))).with_history(HistoryBounds::NONE)
}

/// Bounds a free-text field; `multiline` allows line breaks and tabs.
fn check_text(problems: &mut Vec<String>, field: &str, value: Option<&str>, max: usize, multiline: bool) {
    let Some(value) = value else { return };
    if value.chars().count() > max {
        problems.push(format!("{field} must be at most {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        problems.push(format!("{field} must not contain control characters"));
    }
}

#[cfg(test)]
mod tests;
