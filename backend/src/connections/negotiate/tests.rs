use serde_json::json;

use super::*;

fn id() -> RuntimeId {
    RuntimeId::parse("dev").unwrap()
}

fn summary(runtime_id: &str, name: &str, version: &str, features: &[&str]) -> serde_json::Value {
    json!({
        "runtime_id": runtime_id,
        "display_name": "Dev runtime",
        "status": "ready",
        "workers": {"total": 0, "idle": 0, "busy": 0, "stopped": 0, "failed": 0},
        "capabilities": {
            "read": true, "create": true, "input": true, "lifecycle": true, "transcript": true, "events": true,
            "when_busy": ["reject", "queue", "interrupt"],
            "profiles": [{"name": "default", "executor": "echo"}]
        },
        "protocol": {"name": name, "version": version, "features": features},
        "log_id": "log-1",
        "last_event_seq": 0
    })
}

const ALL: [&str; 8] = [
    feature::PROFILES,
    feature::WORKERS_READ,
    feature::WORKERS_CREATE,
    feature::WORKERS_INPUT,
    feature::WORKERS_LIFECYCLE,
    feature::TRANSCRIPT,
    feature::EVENTS,
    feature::EVENTS_RESUME,
];

#[test]
fn a_runtime_of_this_protocol_is_compatible_with_every_operation() {
    let report = judge(&id(), &summary("dev", PROTOCOL_NAME, PROTOCOL_VERSION, &ALL));
    assert!(report.compatible);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert_eq!(report.operations.len(), 8);
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
    let report = judge(&id(), &summary("dev", PROTOCOL_NAME, "1.0", &features));
    let profiles = report.operations.iter().find(|v| v.operation == "profiles").unwrap();
    assert!(profiles.supported);
    assert!(profiles.reason.as_deref().is_some_and(|r| r.contains("without models")), "{profiles:?}");
}

#[test]
fn a_missing_feature_makes_only_its_operations_unsupported() {
    let features: Vec<&str> = ALL.iter().copied().filter(|f| *f != feature::WORKERS_CREATE).collect();
    let report = judge(&id(), &summary("dev", PROTOCOL_NAME, "1.3", &features));
    assert!(report.compatible);
    let unsupported: Vec<_> = report.operations.iter().filter(|v| !v.supported).map(|v| v.operation).collect();
    assert_eq!(unsupported, ["create"]);
    assert!(report.basis.contains("1.3"), "quotes the version the runtime sent: {}", report.basis);
}

#[test]
fn another_major_version_or_protocol_is_incompatible_and_quoted_as_sent() {
    let report = judge(&id(), &summary("dev", PROTOCOL_NAME, "2.0", &ALL));
    assert!(!report.compatible);
    assert_eq!(report.diagnostics[0].code, "runtime_incompatible");
    assert!(report.basis.contains("2.0") && report.operations.iter().all(|v| !v.supported), "{report:?}");
    let report = judge(&id(), &json!({"protocol": {"name": "other-thing", "version": "7", "features": []}}));
    assert!(!report.compatible);
    assert!(report.basis.starts_with("dev speaks other-thing 7;"), "{}", report.basis);
}

#[test]
fn an_answer_without_a_protocol_is_not_a_runtime() {
    for answer in [json!({"hello": "world"}), json!([1, 2]), json!({"protocol": "yes"})] {
        let report = judge(&id(), &answer);
        assert!(!report.compatible && report.observed.is_none());
        assert_eq!(report.diagnostics[0].code, "runtime_protocol_error", "{answer}");
        assert!(!report.basis.contains('1'), "invents no version: {}", report.basis);
    }
}

#[test]
fn another_id_is_reported_but_still_usable() {
    let report = judge(&id(), &summary("prod-7", PROTOCOL_NAME, PROTOCOL_VERSION, &ALL));
    assert!(report.compatible);
    assert_eq!(report.diagnostics[0].code, "id_mismatch");
    assert!(report.diagnostics[0].message.contains("prod-7"));
}

#[test]
fn text_from_the_runtime_is_bounded_and_cleaned() {
    let long = format!("x\u{1b}[31m{}", "y".repeat(500));
    let report = judge(&id(), &json!({"protocol": {"name": long, "version": "1.0", "features": []}}));
    assert!(!report.basis.contains('\u{1b}'));
    assert!(report.basis.chars().count() < 200, "{}", report.basis);
}

#[tokio::test]
async fn an_unreadable_token_fails_closed_without_calling() {
    let candidate = Candidate {
        id: id(),
        // Nothing may be sent anywhere: an address that would hang if it were called.
        endpoint: Url::parse("http://192.0.2.1:9").unwrap(),
        token_ref: Some(SecretRef::Env("YOI_RUNTIME_TOKEN_SURELY_UNSET_IN_TESTS".into())),
        ca_file: None,
    };
    let report = test(candidate, RemoteTimeouts::default()).await;
    assert!(!report.compatible);
    assert_eq!(report.diagnostics[0].code, "runtime_auth_failed");
    assert!(!report.diagnostics[0].message.contains("YOI_RUNTIME_TOKEN_SURELY"), "{:?}", report.diagnostics);
}
