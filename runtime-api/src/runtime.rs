//! What a runtime says about itself: identity, status, counts, capabilities and protocol.

use serde::{Deserialize, Serialize};

use crate::ids::RuntimeId;
use crate::worker::WhenBusy;

/// Name of the protocol every runtime in this project speaks.
pub const PROTOCOL_NAME: &str = "yoi-worker-runtime";
/// Version of that protocol, `major.minor`; a different major is incompatible.
pub const PROTOCOL_VERSION: &str = "1.0";

/// Feature names a runtime may advertise in [`ProtocolInfo::features`].
pub mod feature {
    /// Bounded worker list and worker detail.
    pub const WORKERS_READ: &str = "workers.read";
    /// Creating workers.
    pub const WORKERS_CREATE: &str = "workers.create";
    /// Sending input, with every `when_busy` policy.
    pub const WORKERS_INPUT: &str = "workers.input";
    /// Stop and cancel.
    pub const WORKERS_LIFECYCLE: &str = "workers.lifecycle";
    /// Bounded transcript pages.
    pub const TRANSCRIPT: &str = "transcript";
    /// The event stream with snapshot, heartbeat and lagged frames.
    pub const EVENTS: &str = "events";
    /// Resuming the event stream with `after`.
    pub const EVENTS_RESUME: &str = "events.resume";
    /// `GET /v1/profiles`: the profiles workers can be created with.
    pub const PROFILES: &str = "profiles";
    /// Commands take an `Idempotency-Key` header: a repeated key returns the first ack and changes nothing.
    pub const IDEMPOTENCY: &str = "commands.idempotency";
}

/// The protocol a runtime speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProtocolInfo {
    /// Protocol name; [`PROTOCOL_NAME`] for this project.
    pub name: String,
    /// `major.minor`.
    pub version: String,
    /// Optional parts this runtime implements (see [`feature`]).
    pub features: Vec<String>,
}

impl ProtocolInfo {
    /// The protocol of this build with the given features.
    pub fn current(features: &[&str]) -> Self {
        ProtocolInfo {
            name: PROTOCOL_NAME.to_owned(),
            version: PROTOCOL_VERSION.to_owned(),
            features: features.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// The major version, when `version` is `major.minor` with numeric parts.
    pub fn major(&self) -> Option<u32> {
        self.version.split('.').next()?.parse().ok()
    }

    /// Whether this build can talk to a runtime that advertises `self`.
    pub fn is_compatible(&self) -> bool {
        let ours = ProtocolInfo::current(&[]).major();
        self.name == PROTOCOL_NAME && self.major().is_some() && self.major() == ours
    }

    /// Whether a feature is advertised.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// Overall condition of a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuntimeStatus {
    /// Serving every advertised operation.
    Ready,
    /// Serving, but something is wrong (see diagnostics).
    Degraded,
    /// Not reachable or not running.
    Unavailable,
}

/// How many workers are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerCounts {
    /// All workers.
    pub total: u64,
    /// Waiting for input.
    pub idle: u64,
    /// Running a turn.
    pub busy: u64,
    /// Stopped by request.
    pub stopped: u64,
    /// Failed by fault.
    pub failed: u64,
}

/// A profile a worker can be created with: what a picker shows, never where the model lives or its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileInfo {
    /// Profile name, as passed to create.
    pub name: String,
    /// The executor it runs (`echo`, `openai`, ...), so nobody mistakes an echo for a model.
    pub executor: String,
    /// The model it asks for, for executors that call one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The operator's description, for pickers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ProfileInfo {
    /// A profile known only by name and executor.
    pub fn new(name: impl Into<String>, executor: impl Into<String>) -> Self {
        ProfileInfo { name: name.into(), executor: executor.into(), model: None, description: None }
    }
}

/// Every profile of a runtime, by name (`GET /v1/profiles`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileList {
    /// The profiles; `default` is always among them for a runtime that creates workers.
    pub profiles: Vec<ProfileInfo>,
}

/// Which operations a runtime accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capabilities {
    /// Worker list and detail.
    pub read: bool,
    /// Creating workers.
    pub create: bool,
    /// Sending input.
    pub input: bool,
    /// Stop and cancel.
    pub lifecycle: bool,
    /// Transcript pages.
    pub transcript: bool,
    /// The event stream.
    pub events: bool,
    /// Busy policies accepted by input.
    pub when_busy: Vec<WhenBusy>,
    /// Profiles available to create.
    pub profiles: Vec<ProfileInfo>,
}

impl Capabilities {
    /// A view that can be read but not commanded.
    pub fn read_only() -> Self {
        Capabilities {
            read: true,
            create: false,
            input: false,
            lifecycle: false,
            transcript: true,
            events: false,
            when_busy: Vec::new(),
            profiles: Vec::new(),
        }
    }
}

/// A runtime's description of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimeSummary {
    /// The runtime's id, as the answer's receiver addresses it.
    pub runtime_id: RuntimeId,
    /// The id the runtime calls itself, when it is served under another one (see [`crate::Relabel`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_id: Option<RuntimeId>,
    /// Human name.
    pub display_name: String,
    /// Overall condition.
    pub status: RuntimeStatus,
    /// Workers by state.
    pub workers: WorkerCounts,
    /// What it accepts.
    pub capabilities: Capabilities,
    /// What it speaks.
    pub protocol: ProtocolInfo,
    /// Identifies the event log whose seqs this runtime hands out; it changes when seqs start over, so a
    /// cursor from another log is never mistaken for one of this log.
    pub log_id: String,
    /// The newest event seq published so far (0 when none).
    pub last_event_seq: u64,
    /// Quiet time, in milliseconds, after which its event streams send a heartbeat; a client that hears
    /// nothing for longer can take the link for dead. Absent from runtimes that do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_ms: Option<u64>,
}

/// What kind of source serves a runtime; the only hint of "where" a Browser ever gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Runs inside the backend process.
    Embedded,
    /// A `worker-runtime` process reached over HTTP.
    RemoteHttp,
    /// A read-only view of a runtime's data directory.
    LocalCompat,
}

/// Identity of a source, known without I/O.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceDescriptor {
    /// The runtime id the source is registered under.
    pub runtime_id: RuntimeId,
    /// Human name.
    pub display_name: String,
    /// What kind of source it is.
    pub kind: SourceKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_follows_name_and_major_version() {
        let mut p = ProtocolInfo::current(&[feature::EVENTS]);
        assert!(p.is_compatible());
        p.version = "1.7".into();
        assert!(p.is_compatible());
        p.version = "2.0".into();
        assert!(!p.is_compatible());
        p.version = "garbage".into();
        assert!(!p.is_compatible());
        let other = ProtocolInfo { name: "other".into(), ..ProtocolInfo::current(&[]) };
        assert!(!other.is_compatible());
    }
}
