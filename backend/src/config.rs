//! The backend's validated configuration and the loader that layers it from defaults, files, env and flags.
//!
//! Layers, lowest to highest: built-in defaults < `.yoi/workspace-backend.toml` <
//! `.yoi/workspace-backend.local.toml` < `YOI_BACKEND_*` environment variables < command-line flags. Each layer is
//! checked on its own first, so a problem names the file and line (or the variable) it came from; the layers are then
//! merged with figment and the result validated as a whole, collecting every problem before giving up.
//!
//! Config structs implement `Debug` by hand: endpoints, secret references and paths print as `<redacted>`, so a
//! `{:?}` in a log line cannot leak them.

mod env;
mod error;
mod fields;
mod file;
mod load;
mod origin;
mod raw;
mod unknown;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use error::{ConfigError, Location, Problem};
pub use fields::{DisplayNameError, MAX_DISPLAY_NAME_CHARS, check_display_name};
pub use secrets::{MAX_SECRET_FILE_BYTES, Secret, SecretRef, SecretRefError};
pub use sources::remote_http::endpoint::{EndpointError, normalized_endpoint, parse_endpoint};
pub use sources::spec::{LocalCompatSpec, RemoteSpec, SourceSpec};

/// The shared configuration file, relative to the workspace directory.
pub const CONFIG_FILE: &str = ".yoi/workspace-backend.toml";
/// The personal configuration file, relative to the workspace directory; it overrides [`CONFIG_FILE`].
pub const LOCAL_CONFIG_FILE: &str = ".yoi/workspace-backend.local.toml";
/// Prefix of the environment variables that override the files (`YOI_BACKEND_SERVER__BIND` sets `server.bind`).
pub const ENV_PREFIX: &str = "YOI_BACKEND_";
/// Runtime id of the embedded runtime; no configured runtime may use it.
pub const EMBEDDED_RUNTIME_ID: &str = "backend-internal";
/// Display name of the embedded runtime.
pub const EMBEDDED_DISPLAY_NAME: &str = "Backend internal";

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    /// `--bind ADDR`: the address the Browser API listens on.
    pub bind: Option<SocketAddr>,
    /// `--no-auth`: `server.auth = "none"`.
    pub no_auth: bool,
}

/// The validated configuration; its `Debug` shows no path, endpoint or secret reference.
#[derive(Clone)]
pub struct BackendConfig {
    /// The `--workspace` directory (absolute); it holds `.yoi/`.
    pub workspace: PathBuf,
    /// How the Browser API is served.
    pub server: ServerConfig,
    /// The runtime the backend process owns.
    pub embedded: EmbeddedConfig,
    /// Every configured runtime, of every kind: by kind in the order of [`sources::spec::RawRuntimes`], and in
    /// file order within a kind (base file first).
    pub runtimes: Vec<SourceSpec>,
    /// What the files hold that the backend does not know (unknown keys), each naming file, line and key;
    /// ignored, but worth telling the operator.
    pub warnings: Vec<Problem>,
}

impl fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendConfig")
            .field("workspace", &"<redacted>")
            .field("server", &self.server)
            .field("embedded", &self.embedded)
            .field("runtimes", &self.runtimes)
            .field("warnings", &self.warnings.len())
            .finish()
    }
}

/// How the Browser API is served.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Listening address; binding anything but loopback requires `access_token_ref`.
    pub bind: SocketAddr,
    /// Extra host names accepted in the `Host` header, beyond loopback names (normalized to lowercase).
    pub allowed_hosts: Vec<String>,
    /// Extra origins accepted for state-changing requests and WebSocket upgrades, serialized as `scheme://host[:port]`.
    pub allowed_origins: Vec<String>,
    /// When set, every request must carry this token.
    pub access_token_ref: Option<SecretRef>,
    /// Whether requests need an access token at all; with [`AuthMode::Token`] and no `access_token_ref`, the
    /// binary generates one (see [`crate::access`]).
    pub auth: AuthMode,
    /// Upper bound on one Browser API request.
    pub request_timeout: Duration,
    /// Upper bound on one request body, in bytes.
    pub body_limit_bytes: usize,
    /// Most Browser event streams open at once.
    pub max_event_streams: usize,
    /// Most Browser event streams one client address may hold.
    pub max_event_streams_per_client: usize,
    /// Longest wait for a request head, from when a connection opens or goes idle.
    pub request_head_timeout: Duration,
    /// Longest a request body may take to arrive whole; [`ServerConfig::body_timeout`] is what applies.
    pub request_body_timeout: Duration,
    /// Most connections open at once, event streams included; more wait to be accepted.
    pub max_connections: usize,
}

impl ServerConfig {
    /// The time a body has to arrive: `request_body_timeout`, but never beyond `request_timeout`, so a slow
    /// client is answered `408 request_timeout` before the backstop could blame a runtime for it.
    pub fn body_timeout(&self) -> Duration {
        self.request_body_timeout.min(self.request_timeout)
    }
}

/// Whether the Browser API wants an access token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every request carries the access token (the configured one, or one the backend generated).
    #[default]
    Token,
    /// Nothing is asked for: `--no-auth`, allowed on a loopback bind only.
    None,
}

/// The runtime the backend process owns.
#[derive(Clone, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// Where worker records are kept.
    pub store: StoreKind,
    /// Data directory of the fs store (absolute); always set when `store` is [`StoreKind::Fs`].
    pub data_dir: Option<PathBuf>,
    /// Profiles file (absolute): the configured one, else `.yoi/profiles.toml` when it exists.
    pub profiles_file: Option<PathBuf>,
    /// When set, an idle worker is stopped after this long (reason `idle_timeout`).
    pub idle_timeout: Option<Duration>,
}

/// Where the embedded runtime keeps worker records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// In memory; lost when the backend stops.
    #[default]
    Memory,
    /// On disk under the data directory.
    Fs,
}

/// Loads and validates the configuration of the workspace at `workspace`, reading `YOI_BACKEND_*` from the process
/// environment.
pub fn load(workspace: &Path, cli: &CliOverrides) -> Result<BackendConfig, ConfigError> {
    load::load_from(workspace, cli, env::process_vars(), None)
}

/// Like [`load`], with `local_text` in place of the personal file's contents: what the configuration would be
/// if that text were written.
pub fn load_with_local_text(
    workspace: &Path,
    cli: &CliOverrides,
    local_text: &str,
) -> Result<BackendConfig, ConfigError> {
    load::load_from(workspace, cli, env::process_vars(), Some(local_text))
}

impl BackendConfig {
    /// The configured runtime with this id, of any kind.
    pub fn runtime(&self, id: &str) -> Option<&SourceSpec> {
        self.runtimes.iter().find(|spec| spec.id().as_str() == id)
    }

    /// Path of the shared configuration file.
    pub fn config_file(&self) -> PathBuf {
        self.workspace.join(CONFIG_FILE)
    }

    /// Path of the personal configuration file, the one the settings API edits.
    pub fn local_config_file(&self) -> PathBuf {
        self.workspace.join(LOCAL_CONFIG_FILE)
    }
}

/// Prints `<redacted>` in place of a value that must not reach a log.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Some(<redacted>)` or `None`: whether a value is set is useful in a log, the value is not.
fn redact_option<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("bind", &self.bind)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allowed_origins", &self.allowed_origins)
            .field("access_token_ref", &redact_option(&self.access_token_ref))
            .field("auth", &self.auth)
            .field("request_timeout", &self.request_timeout)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("max_event_streams", &self.max_event_streams)
            .field("max_event_streams_per_client", &self.max_event_streams_per_client)
            .field("request_head_timeout", &self.request_head_timeout)
            .field("request_body_timeout", &self.request_body_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl fmt::Debug for EmbeddedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedConfig")
            .field("store", &self.store)
            .field("data_dir", &redact_option(&self.data_dir))
            .field("profiles_file", &redact_option(&self.profiles_file))
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}
