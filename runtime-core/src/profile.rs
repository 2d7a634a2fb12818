//! Profiles: the named recipes workers run with, loaded from the TOML file of SPEC §9.
//!
//! The file is read into raw structs, then validated as a whole so an operator sees every problem at once.
//! A `default` profile always exists: when the file does not define one, it is the built-in echo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use runtime_api::ProfileInfo;
use serde::Deserialize;

use crate::executor::{EchoExecutor, Executor};

/// Name of the profile used when a create request names none.
pub const DEFAULT_PROFILE: &str = "default";
/// Pause between echo pieces when a profile does not set `chunk_delay_ms`.
pub const DEFAULT_CHUNK_DELAY_MS: u64 = 20;
const MAX_CHUNK_DELAY_MS: u64 = 60_000;
const MAX_SYSTEM_PROMPT_CHARS: usize = 16_384;

/// A named recipe: which executor runs a worker's turns, and with what instructions.
pub struct Profile {
    name: String,
    executor_name: String,
    system_prompt: Option<String>,
    executor: Arc<dyn Executor>,
}

impl Profile {
    /// A profile running `executor`, labelled `executor_name` in every worker summary.
    pub fn new(name: impl Into<String>, executor_name: impl Into<String>, executor: Arc<dyn Executor>) -> Self {
        Profile { name: name.into(), executor_name: executor_name.into(), system_prompt: None, executor }
    }

    /// The same profile with a system prompt.
    pub fn with_system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
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

    /// The executor.
    pub fn executor(&self) -> &Arc<dyn Executor> {
        &self.executor
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
    /// Only the built-in `default` echo profile.
    pub fn builtin() -> Self {
        let mut set = ProfileSet { profiles: BTreeMap::new() };
        set.insert(default_profile());
        set
    }

    /// Reads and validates a profiles file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Validates profiles given as TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        Self::parse(text, "<inline>")
    }

    fn parse(text: &str, origin: &str) -> Result<Self, ProfileError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ProfileError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string().trim().to_owned(),
        })?;
        let mut problems = Vec::new();
        let mut set = ProfileSet { profiles: BTreeMap::new() };
        let mut names = std::collections::BTreeSet::new();
        for (index, raw) in raw.profiles.into_iter().enumerate() {
            let label = format!("profile #{} ({:?})", index + 1, raw.name);
            if !names.insert(raw.name.clone()) {
                problems.push(format!("{label}: the name is used by an earlier profile"));
                continue;
            }
            match raw.build() {
                Ok(profile) => set.insert(profile),
                Err(mut errors) => {
                    problems.extend(errors.drain(..).map(|e| format!("{label}: {e}")));
                }
            }
        }
        if !problems.is_empty() {
            return Err(ProfileError::Invalid { origin: origin.to_owned(), problems });
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

    /// Name and executor of every profile, by name.
    pub fn infos(&self) -> Vec<ProfileInfo> {
        self.profiles
            .values()
            .map(|p| ProfileInfo { name: p.name.clone(), executor: p.executor_name.clone() })
            .collect()
    }
}

fn default_profile() -> Profile {
    let echo = EchoExecutor::new(Duration::from_millis(DEFAULT_CHUNK_DELAY_MS));
    Profile::new(DEFAULT_PROFILE, "echo", Arc::new(echo))
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
    name: String,
    executor: String,
    chunk_delay_ms: Option<u64>,
    base_url: Option<String>,
    model: Option<String>,
    api_key_ref: Option<String>,
    system_prompt: Option<String>,
}

impl RawProfile {
    /// The validated profile, or every problem with it.
    fn build(self) -> Result<Profile, Vec<String>> {
        let mut problems = Vec::new();
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            problems.push("name must be 1 to 64 letters, digits, '-', '_' or '.'".to_owned());
        }
        if let Some(prompt) = &self.system_prompt
            && prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS
        {
            problems.push(format!("system_prompt must be at most {MAX_SYSTEM_PROMPT_CHARS} characters"));
        }
        let executor: Option<Arc<dyn Executor>> = match self.executor.as_str() {
            "echo" => {
                for (field, set) in [
                    ("base_url", self.base_url.is_some()),
                    ("model", self.model.is_some()),
                    ("api_key_ref", self.api_key_ref.is_some()),
                ] {
                    if set {
                        problems.push(format!("{field} applies only to openai profiles"));
                    }
                }
                let delay = self.chunk_delay_ms.unwrap_or(DEFAULT_CHUNK_DELAY_MS);
                if delay > MAX_CHUNK_DELAY_MS {
                    problems.push(format!("chunk_delay_ms must be at most {MAX_CHUNK_DELAY_MS}"));
                }
                Some(Arc::new(EchoExecutor::new(Duration::from_millis(delay))))
            }
            "openai" => {
                if self.chunk_delay_ms.is_some() {
                    problems.push("chunk_delay_ms applies only to echo profiles".to_owned());
                }
                match &self.base_url {
                    Some(url) if url.starts_with("http://") || url.starts_with("https://") => {}
                    Some(_) => problems.push("base_url must start with http:// or https://".to_owned()),
                    None => problems.push("base_url is required for openai profiles".to_owned()),
                }
                if self.model.as_deref().is_none_or(str::is_empty) {
                    problems.push("model is required for openai profiles".to_owned());
                }
                if let Some(reference) = &self.api_key_ref
                    && !(reference.starts_with("env:") || reference.starts_with("file:"))
                {
                    problems.push("api_key_ref must start with env: or file:".to_owned());
                }
                problems.push("executor openai is not available in this build".to_owned());
                None
            }
            other => {
                problems.push(format!("executor {other:?} is not known (expected echo or openai)"));
                None
            }
        };
        match executor {
            Some(executor) if problems.is_empty() => {
                let mut profile = Profile::new(self.name, self.executor, executor);
                profile.system_prompt = self.system_prompt;
                Ok(profile)
            }
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_exists_even_when_the_file_omits_it() {
        let set =
            ProfileSet::from_toml("[[profiles]]\nname = \"fast\"\nexecutor = \"echo\"\nchunk_delay_ms = 0\n").unwrap();
        let names: Vec<_> = set.infos().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["default", "fast"]);
        assert_eq!(set.get("default").unwrap().executor_name(), "echo");
        assert!(ProfileSet::from_toml("").unwrap().get(DEFAULT_PROFILE).is_some());
    }

    #[test]
    fn a_file_default_replaces_the_builtin() {
        let text =
            "[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 5\nsystem_prompt = \"be brief\"\n";
        let set = ProfileSet::from_toml(text).unwrap();
        assert_eq!(set.get("default").unwrap().system_prompt(), Some("be brief"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
[[profiles]]
name = "bad name"
executor = "echo"
model = "x"

[[profiles]]
name = "what"
executor = "llama"

[[profiles]]
name = "what"
executor = "echo"
"#;
        let ProfileError::Invalid { problems, .. } = ProfileSet::from_toml(text).unwrap_err() else {
            panic!("expected Invalid");
        };
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("name must be"));
        assert!(problems[1].contains("model applies only to openai"));
        assert!(problems[2].contains("\"llama\" is not known"));
        assert!(problems[3].contains("used by an earlier profile"));
    }

    #[test]
    fn syntax_errors_name_the_line_and_unknown_fields() {
        let err = ProfileSet::from_toml("[[profiles]]\nname = \"a\"\nexecutor = \"echo\"\ncolour = 1\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 4") && text.contains("colour"), "{text}");
    }

    #[test]
    fn openai_profiles_are_validated_but_not_available_yet() {
        let text = "[[profiles]]\nname = \"llm\"\nexecutor = \"openai\"\nbase_url = \"ftp://x\"\n";
        let ProfileError::Invalid { problems, .. } = ProfileSet::from_toml(text).unwrap_err() else {
            panic!("expected Invalid");
        };
        assert!(problems.iter().any(|p| p.contains("base_url must start")));
        assert!(problems.iter().any(|p| p.contains("model is required")));
        assert!(problems.iter().any(|p| p.contains("not available in this build")));
    }
}
