//! The configuration as written in files and variables, before validation.
//!
//! Unknown keys are not refused here: the loader warns about each, naming file, line and the key it most likely
//! meant (see `unknown`). Values that need checking are kept as strings here, so validation can report every
//! problem rather than the first one serde meets.
//! No `Debug`: these structs hold endpoints and secret references in the clear.

use std::path::PathBuf;

use serde::Deserialize;
use sources::spec::RawRuntimes;

use super::{AuthMode, StoreKind};

/// A whole configuration file, or all layers merged.
#[derive(Default, Deserialize)]
#[serde(expecting = "a backend configuration table")]
pub(super) struct RawConfig {
    /// `[server]`.
    #[serde(default)]
    pub(super) server: RawServer,
    /// `[embedded]`.
    #[serde(default)]
    pub(super) embedded: RawEmbedded,
    /// `[runtimes]`, usually written as `[[runtimes.remote]]` and `[[runtimes.local_compat]]`; each kind of
    /// source defines its own table.
    #[serde(default)]
    pub(super) runtimes: RawRuntimes,
}

/// `[server]`: how the Browser API is served.
#[derive(Deserialize)]
#[serde(expecting = "a [server] table")]
pub(super) struct RawServer {
    /// Listening address such as `127.0.0.1:8780`.
    #[serde(default = "default_bind")]
    pub(super) bind: String,
    /// Extra host names accepted in the `Host` header.
    #[serde(default)]
    pub(super) allowed_hosts: Vec<String>,
    /// Extra origins accepted for state-changing requests.
    #[serde(default)]
    pub(super) allowed_origins: Vec<String>,
    /// `env:NAME` or `file:PATH` of the token every request must carry.
    pub(super) access_token_ref: Option<String>,
    /// `token` (the default: a configured or generated token) or `none` (loopback only).
    #[serde(default)]
    pub(super) auth: AuthMode,
    /// Upper bound on one request, in seconds.
    #[serde(default = "default_request_timeout_secs")]
    pub(super) request_timeout_secs: i64,
    /// Upper bound on one request body, in bytes.
    #[serde(default = "default_body_limit_bytes")]
    pub(super) body_limit_bytes: i64,
    /// Most Browser event streams open at once.
    #[serde(default = "default_max_event_streams")]
    pub(super) max_event_streams: i64,
    /// Most Browser event streams one client address may hold.
    #[serde(default = "default_max_event_streams_per_client")]
    pub(super) max_event_streams_per_client: i64,
    /// Longest wait, in seconds, for a request head, and for the next one on a kept-alive connection.
    #[serde(default = "default_request_head_timeout_secs")]
    pub(super) request_head_timeout_secs: i64,
    /// Longest a request body may take to arrive whole, in seconds (at most `request_timeout_secs`).
    #[serde(default = "default_request_body_timeout_secs")]
    pub(super) request_body_timeout_secs: i64,
    /// Most connections open at once, event streams included.
    #[serde(default = "default_max_connections")]
    pub(super) max_connections: i64,
}

/// `[embedded]`: the runtime the backend owns.
#[derive(Default, Deserialize)]
#[serde(expecting = "an [embedded] table")]
pub(super) struct RawEmbedded {
    /// `"memory"` or `"fs"`.
    #[serde(default)]
    pub(super) store: StoreKind,
    /// Data directory of the fs store, relative to the workspace directory or absolute.
    pub(super) data_dir: Option<PathBuf>,
    /// Profiles file, relative to the workspace directory or absolute.
    pub(super) profiles_file: Option<PathBuf>,
    /// Seconds after which an idle worker is stopped; 0 (the default) never culls.
    #[serde(default)]
    pub(super) idle_timeout_secs: i64,
}

/// Loopback only: exposing the backend beyond this machine must be a deliberate choice.
pub(super) fn default_bind() -> String {
    "127.0.0.1:8780".to_owned()
}

/// Long enough for a slow remote, short enough that a stuck request does not pin a connection for long.
pub(super) const fn default_request_timeout_secs() -> i64 {
    60
}

/// Requests are small JSON commands; 256 KiB leaves room for long inputs.
pub(super) const fn default_body_limit_bytes() -> i64 {
    256 * 1024
}

/// Room for the 1,000-subscriber fan-out and then some; each stream holds a socket and a subscription.
pub(super) const fn default_max_event_streams() -> i64 {
    4096
}

/// A page opens a handful of streams; a runaway client should not take the whole server's budget.
pub(super) const fn default_max_event_streams_per_client() -> i64 {
    256
}

/// A slow link sends a head in well under a second; 30 s leaves room for a stalled one to recover, and
/// bounds how long a silent connection holds its place.
pub(super) const fn default_request_head_timeout_secs() -> i64 {
    30
}

/// A body within the size limit crosses any working link in far less.
pub(super) const fn default_request_body_timeout_secs() -> i64 {
    30
}

/// Room for the default event streams and the requests beside them (each stream holds a connection).
pub(super) const fn default_max_connections() -> i64 {
    8192
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            bind: default_bind(),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            access_token_ref: None,
            auth: AuthMode::default(),
            request_timeout_secs: default_request_timeout_secs(),
            body_limit_bytes: default_body_limit_bytes(),
            max_event_streams: default_max_event_streams(),
            max_event_streams_per_client: default_max_event_streams_per_client(),
            request_head_timeout_secs: default_request_head_timeout_secs(),
            request_body_timeout_secs: default_request_body_timeout_secs(),
            max_connections: default_max_connections(),
        }
    }
}
