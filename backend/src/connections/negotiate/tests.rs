use runtime_api::runtime::{PROTOCOL_NAME, PROTOCOL_VERSION};
use serde_json::json;

use super::*;

fn id() -> RuntimeId {
    RuntimeId::parse("dev").unwrap()
}

fn summary(runtime_id: &str, version: &str, features: &[&str]) -> RuntimeSummary {
    serde_json::from_value(json!({
        "runtime_id": runtime_id,
        "display_name": "Dev runtime",
        "status": "ready",
        "workers": {"total": 0, "idle": 0, "busy": 0, "stopped": 0, "failed": 0},
        "capabilities": {
            "read": true, "create": true, "input": true, "lifecycle": true, "transcript": true, "events": true,
            "when_busy": ["reject", "queue", "interrupt"],
            "profiles": [{"name": "default", "executor": "echo"}]
        },
        "protocol": {"name": PROTOCOL_NAME, "version": version, "features": features},
        "log_id": "log-1",
        "last_event_seq": 0
    }))
    .unwrap()
}

const ALL: [&str; 9] = [
    feature::PROFILES,
    feature::WORKERS_READ,
    feature::WORKERS_CREATE,
    feature::WORKERS_INPUT,
    feature::WORKERS_LIFECYCLE,
    feature::TRANSCRIPT,
    feature::EVENTS,
    feature::EVENTS_RESUME,
    feature::IDEMPOTENCY,
];

#[test]
fn a_runtime_of_this_protocol_is_compatible_with_every_operation() {
    let report = report(&id(), Ok(summary("dev", PROTOCOL_VERSION, &ALL)));
    assert!(report.compatible);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert_eq!(report.operations.len(), 9);
    assert!(report.operations.iter().all(|v| v.supported && v.reason.is_none()), "{:?}", report.operations);
    assert_eq!(
        report.basis,
        format!("dev speaks {PROTOCOL_NAME} {PROTOCOL_VERSION}, the protocol this backend speaks (1.x)")
    );
    assert_eq!(report.observed.unwrap().runtime_id, "dev");
}

#[test]
fn a_runtime_without_the_profiles_api_still_lists_profiles_from_its_summary() {
    let features: Vec<&str> = ALL.iter().copied().filter(|f| *f != feature::PROFILES).collect();
    let report = report(&id(), Ok(summary("dev", "1.0", &features)));
    let profiles = report.operations.iter().find(|v| v.operation == "profiles").unwrap();
    assert!(profiles.supported);
    assert!(profiles.reason.as_deref().is_some_and(|r| r.contains("without models")), "{profiles:?}");
}

#[test]
fn a_missing_feature_makes_only_its_operations_unsupported() {
    let features: Vec<&str> = ALL.iter().copied().filter(|f| *f != feature::WORKERS_CREATE).collect();
    let report = report(&id(), Ok(summary("dev", "1.3", &features)));
    assert!(report.compatible);
    let unsupported: Vec<_> = report.operations.iter().filter(|v| !v.supported).map(|v| v.operation).collect();
    assert_eq!(unsupported, ["create"]);
    assert!(report.basis.contains("1.3"), "quotes the version the runtime sent: {}", report.basis);
}

#[test]
fn a_runtime_without_idempotency_keys_works_but_its_commands_are_not_retried() {
    let features: Vec<&str> = ALL.iter().copied().filter(|f| *f != feature::IDEMPOTENCY).collect();
    let report = report(&id(), Ok(summary("dev", "1.0", &features)));
    assert!(report.compatible);
    let unsupported: Vec<_> = report.operations.iter().filter(|v| !v.supported).map(|v| v.operation).collect();
    assert_eq!(unsupported, ["safe_retries"]);
    let verdict = report.operations.iter().find(|v| v.operation == "safe_retries").unwrap();
    assert!(verdict.reason.as_deref().is_some_and(|r| r.contains("not retried")), "{verdict:?}");
}

#[test]
fn an_incompatible_runtime_is_reported_in_the_words_of_the_one_protocol_check() {
    let message = "runtime dev speaks another protocol, other-thing 7; this backend speaks yoi-worker-runtime 1.0";
    let report = report(&id(), Err(ApiError::new(ErrorCode::RuntimeIncompatible, message)));
    assert!(!report.compatible && report.observed.is_none());
    assert_eq!(report.diagnostics[0].code, DiagnosticCode::Error(ErrorCode::RuntimeIncompatible));
    assert_eq!(report.basis, message, "quoted as the remote client judged it");
    assert!(report.operations.iter().all(|v| !v.supported), "{report:?}");
}

#[test]
fn an_answer_that_is_not_a_runtime_summary_invents_no_version() {
    let error = ApiError::new(ErrorCode::RuntimeProtocolError, "runtime dev is not a usable runtime: no protocol");
    let report = report(&id(), Err(error));
    assert!(!report.compatible && report.observed.is_none());
    assert_eq!(report.diagnostics[0].code, DiagnosticCode::Error(ErrorCode::RuntimeProtocolError));
    assert!(!report.basis.contains('1'), "invents no version: {}", report.basis);
}

#[test]
fn another_id_is_reported_but_still_usable() {
    let report = report(&id(), Ok(summary("prod-7", PROTOCOL_VERSION, &ALL)));
    assert!(report.compatible);
    assert_eq!(report.diagnostics[0].code, DiagnosticCode::Note(Note::IdMismatch));
    assert_eq!(serde_json::to_value(report.diagnostics[0].code).unwrap(), "id_mismatch");
    assert!(report.diagnostics[0].message.contains("prod-7"));
}

#[tokio::test]
async fn an_unreadable_token_fails_closed_without_calling() {
    let connection = RemoteSpec {
        id: id(),
        // Nothing may be sent anywhere: an address that would hang if it were called.
        endpoint: url::Url::parse("http://192.0.2.1:9").unwrap(),
        display_name: "Dev".into(),
        token_ref: Some(secrets::SecretRef::Env("YOI_RUNTIME_TOKEN_SURELY_UNSET_IN_TESTS".into())),
        ca_file: None,
    };
    let registry = RuntimeRegistry::new(Default::default(), std::sync::Arc::new(crate::metrics::Metrics::new()));
    let started = std::time::Instant::now();
    let report = test(connection, &registry, &BuildOptions::default()).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "nothing was called");
    assert!(!report.compatible);
    assert_eq!(report.diagnostics[0].code, DiagnosticCode::Error(ErrorCode::RuntimeAuthFailed));
    assert!(!report.diagnostics[0].message.contains("YOI_RUNTIME_TOKEN_SURELY"), "{:?}", report.diagnostics);
}
