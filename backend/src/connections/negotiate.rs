//! Testing a connection (SPEC §8): ask the runtime who it is and what it speaks, with the backend's own
//! credentials, and say per operation whether this backend can use it. Nothing here is written anywhere.

use std::path::PathBuf;

use runtime_api::runtime::{PROTOCOL_NAME, PROTOCOL_VERSION, feature};
use runtime_api::{Capabilities, ErrorCode, ProtocolInfo, RuntimeId, RuntimeStatus, RuntimeSummary};
use serde::Serialize;
use sources::remote_http::{RemoteHttpSource, RemoteOptions, RemoteTimeouts};
use url::Url;
use utoipa::ToSchema;

use crate::config::SecretRef;
use crate::stack::Sanitizer;
use crate::stack::sanitize::SecretKind;

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
    /// Problems found, each with a SPEC §5 code or `id_mismatch`; sanitized.
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
    /// `transcript`, `profiles`.
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
    /// A SPEC §5 code, or `id_mismatch`.
    pub code: String,
    /// What it means here.
    pub message: String,
}

/// A connection to test.
pub struct Candidate {
    /// The id it is (or would be) registered under.
    pub id: RuntimeId,
    /// Its endpoint.
    pub endpoint: Url,
    /// Where its token is read from, made absolute.
    pub token_ref: Option<SecretRef>,
    /// An extra CA certificate (absolute path).
    pub ca_file: Option<PathBuf>,
}

/// An operation the Browser needs, with the capability and protocol feature it rests on.
struct Operation {
    name: &'static str,
    label: &'static str,
    allowed: fn(&Capabilities) -> bool,
    feature: &'static str,
}

const OPERATIONS: [Operation; 8] = [
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
];

/// Longest text quoted from a runtime's answer.
const MAX_QUOTED_CHARS: usize = 64;

/// Tests `candidate`: reads its token (failing closed), calls `GET /v1/runtime` and judges the answer.
pub async fn test(candidate: Candidate, timeouts: RemoteTimeouts) -> TestReport {
    let sanitizer = secrets_of(&candidate);
    let mut report = probe(&candidate, timeouts).await;
    for diagnostic in &mut report.diagnostics {
        sanitizer.diagnostic(&mut diagnostic.message);
    }
    report
}

async fn probe(candidate: &Candidate, timeouts: RemoteTimeouts) -> TestReport {
    let id = &candidate.id;
    if let Some(token_ref) = &candidate.token_ref
        && let Err(error) = token_ref.resolve()
    {
        let message = format!("the token reference cannot be read ({error}), so nothing was sent");
        return unreached(ErrorCode::RuntimeAuthFailed, message);
    }
    let options = RemoteOptions {
        runtime_id: id.clone(),
        display_name: id.to_string(),
        endpoint: candidate.endpoint.clone(),
        token_ref: candidate.token_ref.clone(),
        ca_file: candidate.ca_file.clone(),
        timeouts,
    };
    let source = match RemoteHttpSource::new(options) {
        Ok(source) => source,
        Err(error) => return unreached(ErrorCode::RuntimeUnavailable, error.to_string()),
    };
    match source.probe().await {
        Ok(answer) => judge(id, &answer),
        Err(error) => unreached(error.code, error.message),
    }
}

/// A report for a runtime that could not be asked, or did not answer.
fn unreached(code: ErrorCode, message: String) -> TestReport {
    let basis = match code {
        ErrorCode::RuntimeProtocolError => "the endpoint answered, but not with a runtime summary",
        ErrorCode::RuntimeAuthFailed => {
            "the runtime did not accept the backend's credentials, so its protocol is unknown"
        }
        _ => "the runtime did not answer, so its protocol is unknown",
    };
    TestReport {
        compatible: false,
        basis: basis.to_owned(),
        observed: None,
        operations: verdicts(None, "not known: the runtime was not reached"),
        diagnostics: vec![TestDiagnostic { code: code.as_str().to_owned(), message }],
    }
}

/// Judges a `GET /v1/runtime` answer.
fn judge(id: &RuntimeId, answer: &serde_json::Value) -> TestReport {
    let not_a_runtime = |what: &str| TestReport {
        diagnostics: vec![TestDiagnostic {
            code: ErrorCode::RuntimeProtocolError.as_str().to_owned(),
            message: format!("the endpoint answered, but {what}"),
        }],
        ..unreached(ErrorCode::RuntimeProtocolError, String::new())
    };
    let Some(protocol) = answer.get("protocol").and_then(|p| serde_json::from_value::<ProtocolInfo>(p.clone()).ok())
    else {
        return not_a_runtime("its answer names no protocol: it is not a worker runtime");
    };
    let name = quote(&protocol.name);
    let version = quote(&protocol.version);
    if !protocol.is_compatible() {
        let basis = format!("{id} speaks {name} {version}; this backend speaks {PROTOCOL_NAME} {PROTOCOL_VERSION}");
        let what = if protocol.name != PROTOCOL_NAME { "another protocol" } else { "another major version" };
        return TestReport {
            compatible: false,
            basis,
            observed: None,
            operations: verdicts(None, &format!("the runtime speaks {what}")),
            diagnostics: vec![TestDiagnostic {
                code: ErrorCode::RuntimeIncompatible.as_str().to_owned(),
                message: format!("the runtime speaks {what} ({name} {version})"),
            }],
        };
    }
    let Ok(summary) = serde_json::from_value::<RuntimeSummary>(answer.clone()) else {
        return not_a_runtime(&format!("its summary does not have the shape {name} {version} defines"));
    };
    let mut diagnostics = Vec::new();
    if &summary.runtime_id != id {
        diagnostics.push(TestDiagnostic {
            code: "id_mismatch".to_owned(),
            message: format!(
                "the runtime calls itself {}; it is still served under {id}",
                quote(summary.runtime_id.as_str())
            ),
        });
    }
    if summary.status != RuntimeStatus::Ready {
        diagnostics.push(TestDiagnostic {
            code: ErrorCode::RuntimeUnavailable.as_str().to_owned(),
            message: format!("the runtime reports itself {}", status_word(summary.status)),
        });
    }
    let ours = PROTOCOL_VERSION.split('.').next().unwrap_or(PROTOCOL_VERSION);
    TestReport {
        compatible: true,
        basis: format!("{id} speaks {name} {version}, the protocol this backend speaks ({ours}.x)"),
        operations: verdicts(Some((&summary.capabilities, &summary.protocol)), ""),
        observed: Some(ObservedRuntime {
            runtime_id: quote(summary.runtime_id.as_str()),
            display_name: quote(&summary.display_name),
            status: summary.status,
            protocol: summary.protocol,
            capabilities: summary.capabilities,
        }),
        diagnostics,
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

/// Text from the runtime, bounded and without control characters, as it may be shown.
fn quote(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(MAX_QUOTED_CHARS).collect();
    if clean.is_empty() { "(nothing)".to_owned() } else { clean }
}

/// The secrets a report must not show: the token, wherever it came from.
fn secrets_of(candidate: &Candidate) -> Sanitizer {
    let mut sanitizer = Sanitizer::new();
    if let Some(token) = candidate.token_ref.as_ref().and_then(|r| r.resolve().ok()) {
        sanitizer = sanitizer.secret(SecretKind::Token, &candidate.id, token.expose());
    }
    sanitizer
}

#[cfg(test)]
mod tests;
