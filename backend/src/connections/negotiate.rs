//! Testing a connection (SPEC §8): ask the runtime who it is and what it speaks, with the backend's own
//! credentials, and say per operation whether this backend can use it. Nothing here is written anywhere.
//!
//! The test takes the path every call takes: the connection's spec builds the source, and the summary call
//! goes through the stack's deadline, error mapping and sanitization, with the secrets the spec registers.
//! Whether the remote speaks this protocol is judged where every call judges it (the remote client); this
//! module only puts the outcome into words.

use runtime_api::runtime::{PROTOCOL_VERSION, feature};
use runtime_api::{ApiError, Capabilities, ErrorCode, ProtocolInfo, RuntimeId, RuntimeStatus, RuntimeSummary};
use serde::Serialize;
use sources::SourceSpec;
use sources::spec::{BuildOptions, RemoteSpec};
use utoipa::ToSchema;

use crate::registry::RuntimeRegistry;
use crate::stack::{Sanitizer, SourceRequest, SourceResponse};

/// What a connection test found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestReport {
    /// Whether this backend can use the runtime.
    pub compatible: bool,
    /// One sentence saying why, quoting only what the runtime sent.
    pub basis: String,
    /// What the runtime said about itself, when it answered with a runtime summary.
    pub observed: Option<ObservedRuntime>,
    /// Per operation the Browser needs, whether it can be used.
    pub operations: Vec<OperationVerdict>,
    /// Problems found, each with a typed code; sanitized.
    pub diagnostics: Vec<TestDiagnostic>,
}

/// The runtime's own account of itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservedRuntime {
    /// The id it calls itself.
    pub runtime_id: String,
    /// Its own display name.
    pub display_name: String,
    /// Its condition.
    pub status: RuntimeStatus,
    /// What it speaks.
    pub protocol: ProtocolInfo,
    /// What it accepts.
    pub capabilities: Capabilities,
}

/// Whether one operation can be used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperationVerdict {
    /// Stable name: `list_workers`, `observe_detail`, `event_stream`, `create`, `input`, `stop_cancel`,
    /// `transcript`, `profiles`, `safe_retries`.
    pub operation: &'static str,
    /// Human name.
    pub label: &'static str,
    /// Whether the backend can use it on this runtime.
    pub supported: bool,
    /// Why not, or a limitation.
    pub reason: Option<String>,
}

/// One problem a test found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestDiagnostic {
    /// What kind of problem.
    pub code: DiagnosticCode,
    /// What it means here.
    pub message: String,
}

/// A test's finding, as a stable code: a SPEC §5 error the call ended with, or a note about a runtime that
/// can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DiagnosticCode {
    /// The call failed with this error.
    Error(ErrorCode),
    /// The call worked, with this to point out.
    Note(Note),
}

impl std::fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiagnosticCode::Error(code) => f.write_str(code.as_str()),
            DiagnosticCode::Note(Note::IdMismatch) => f.write_str("id_mismatch"),
        }
    }
}

/// What a working runtime's test may point out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// The runtime calls itself by another id than it is served under.
    IdMismatch,
}

/// An operation the Browser needs, with the capability and protocol feature it rests on.
struct Operation {
    name: &'static str,
    label: &'static str,
    allowed: fn(&Capabilities) -> bool,
    feature: &'static str,
}

const OPERATIONS: [Operation; 9] = [
    Operation { name: "list_workers", label: "List workers", allowed: |c| c.read, feature: feature::WORKERS_READ },
    Operation { name: "observe_detail", label: "Worker detail", allowed: |c| c.read, feature: feature::WORKERS_READ },
    Operation { name: "event_stream", label: "Event stream", allowed: |c| c.events, feature: feature::EVENTS },
    Operation { name: "create", label: "Create workers", allowed: |c| c.create, feature: feature::WORKERS_CREATE },
    Operation { name: "input", label: "Send input", allowed: |c| c.input, feature: feature::WORKERS_INPUT },
    Operation {
        name: "stop_cancel",
        label: "Stop and cancel",
        allowed: |c| c.lifecycle,
        feature: feature::WORKERS_LIFECYCLE,
    },
    Operation { name: "transcript", label: "Transcript", allowed: |c| c.transcript, feature: feature::TRANSCRIPT },
    Operation { name: "profiles", label: "List profiles", allowed: |_| true, feature: feature::PROFILES },
    Operation {
        name: "safe_retries",
        label: "Safe command retries",
        allowed: |c| c.create || c.input || c.lifecycle,
        feature: feature::IDEMPOTENCY,
    },
];

/// Longest text quoted from a runtime's answer.
const MAX_QUOTED_CHARS: usize = 64;

/// Tests `connection`: builds its source as registration would, and asks for its summary through the stack
/// `registry` would give it, without registering it.
pub async fn test(connection: RemoteSpec, registry: &RuntimeRegistry, options: &BuildOptions) -> TestReport {
    let id = connection.id.clone();
    let spec = SourceSpec::RemoteHttp(connection);
    let source = match spec.build(options) {
        Ok(source) => source,
        Err(error) => return unreached(ErrorCode::RuntimeUnavailable, error.to_string()),
    };
    let sanitizer = Sanitizer::new().confidential(&id, &spec.confidential());
    let summary = match registry.detached(source, sanitizer).call(SourceRequest::Summary).await {
        Ok(SourceResponse::Summary(summary)) => Ok(summary),
        Ok(_) => Err(ApiError::internal()),
        Err(error) => Err(error),
    };
    report(&id, summary)
}

/// Puts the outcome of a summary call into a report.
fn report(id: &RuntimeId, summary: Result<RuntimeSummary, ApiError>) -> TestReport {
    let summary = match summary {
        Ok(summary) => summary,
        Err(error) if answers_a_summary_call(error.code) => return unreached(error.code, error.message),
        // A worker-runtime never answers its summary so: whatever answered is another service, and its
        // words are not a runtime's to quote.
        Err(error) => {
            let message = format!(
                "the endpoint answered with an error ({}) that no worker-runtime gives for its summary",
                error.code.as_str()
            );
            return unreached(ErrorCode::RuntimeProtocolError, message);
        }
    };
    let mut diagnostics = Vec::new();
    let own_id = summary.own_id.clone().unwrap_or_else(|| summary.runtime_id.clone());
    if &own_id != id {
        diagnostics.push(TestDiagnostic {
            code: DiagnosticCode::Note(Note::IdMismatch),
            message: format!("the runtime calls itself {own_id}; it is still served under {id}"),
        });
    }
    if summary.status != RuntimeStatus::Ready {
        diagnostics.push(TestDiagnostic {
            code: DiagnosticCode::Error(ErrorCode::RuntimeUnavailable),
            message: format!("the runtime reports itself {}", status_word(summary.status)),
        });
    }
    let ours = PROTOCOL_VERSION.split('.').next().unwrap_or(PROTOCOL_VERSION);
    let protocol = &summary.protocol;
    TestReport {
        compatible: true,
        basis: format!(
            "{id} speaks {} {}, the protocol this backend speaks ({ours}.x)",
            protocol.name, protocol.version
        ),
        operations: verdicts(Some((&summary.capabilities, &summary.protocol)), ""),
        observed: Some(ObservedRuntime {
            runtime_id: own_id.to_string(),
            display_name: summary.display_name.chars().filter(|c| !c.is_control()).take(MAX_QUOTED_CHARS).collect(),
            status: summary.status,
            protocol: summary.protocol,
            capabilities: summary.capabilities,
        }),
        diagnostics,
    }
}

/// Whether `code` is a way a summary call can fail: the backend's own transport and protocol judgements, or
/// a runtime's internal error.
fn answers_a_summary_call(code: ErrorCode) -> bool {
    use ErrorCode::*;
    matches!(
        code,
        RuntimeUnavailable | RuntimeTimeout | RuntimeAuthFailed | RuntimeProtocolError | RuntimeIncompatible | Internal
    )
}

/// A report for a runtime that could not be asked, did not answer, or answered what this backend cannot use;
/// `message` says which, in the words of the call that failed.
fn unreached(code: ErrorCode, message: String) -> TestReport {
    let basis = match code {
        // The remote client's judgement, quoting what the runtime sent.
        ErrorCode::RuntimeIncompatible => message.clone(),
        ErrorCode::RuntimeProtocolError => "the endpoint answered, but not with a runtime summary".to_owned(),
        ErrorCode::RuntimeAuthFailed => {
            "the runtime did not accept the backend's credentials, so its protocol is unknown".to_owned()
        }
        ErrorCode::Internal => "the runtime answered with an internal error, so its protocol is unknown".to_owned(),
        _ => "the runtime did not answer, so its protocol is unknown".to_owned(),
    };
    let unknown = match code {
        ErrorCode::RuntimeIncompatible => "the runtime speaks another protocol",
        _ => "not known: the runtime was not reached",
    };
    TestReport {
        compatible: false,
        basis,
        observed: None,
        operations: verdicts(None, unknown),
        diagnostics: vec![TestDiagnostic { code: DiagnosticCode::Error(code), message }],
    }
}

/// The verdict on every operation; with nothing known, each is unsupported for `unknown`.
fn verdicts(known: Option<(&Capabilities, &ProtocolInfo)>, unknown: &str) -> Vec<OperationVerdict> {
    OPERATIONS
        .iter()
        .map(|op| {
            let (supported, reason) = match known {
                None => (false, Some(unknown.to_owned())),
                Some((capabilities, protocol)) => {
                    verdict(op.name, (op.allowed)(capabilities), protocol.has(op.feature), capabilities, protocol)
                }
            };
            OperationVerdict { operation: op.name, label: op.label, supported, reason }
        })
        .collect()
}

fn verdict(
    operation: &str,
    allowed: bool,
    advertised: bool,
    capabilities: &Capabilities,
    protocol: &ProtocolInfo,
) -> (bool, Option<String>) {
    if operation == "profiles" && !advertised {
        // The summary's capabilities still name every profile and its executor.
        return (true, Some("the runtime lists profile names and executors only, without models".to_owned()));
    }
    if operation == "safe_retries" && !advertised {
        // Commands still work; only the backend's own retry of one whose answer was lost is off.
        return (
            false,
            Some("a command whose answer is lost is not retried; the caller sees runtime_unavailable".to_owned()),
        );
    }
    if !advertised {
        return (false, Some("the runtime does not advertise this part of the protocol".to_owned()));
    }
    if !allowed {
        return (false, Some("the runtime does not accept it".to_owned()));
    }
    match operation {
        "create" if capabilities.profiles.is_empty() => (false, Some("the runtime offers no profile".to_owned())),
        "event_stream" if !protocol.has(feature::EVENTS_RESUME) => {
            (true, Some("streams cannot resume after a dropped connection".to_owned()))
        }
        _ => (true, None),
    }
}

fn status_word(status: RuntimeStatus) -> &'static str {
    match status {
        RuntimeStatus::Ready => "ready",
        RuntimeStatus::Degraded => "degraded",
        RuntimeStatus::Unavailable => "unavailable",
    }
}

#[cfg(test)]
mod tests;
