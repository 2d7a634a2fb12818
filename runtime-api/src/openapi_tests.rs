//! Checks that the OpenAPI schemas describe the JSON serde actually writes, not just that they compile.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::*;

mod conforms;

use conforms::{conforms, resolve, strings};

/// Every public wire type, as a server publishing the whole contract would list them.
#[derive(OpenApi)]
#[openapi(components(schemas(
    ApiError,
    ErrorCode,
    ErrorEnvelope,
    Event,
    EventBody,
    RuntimeId,
    WorkerId,
    WorkerRef,
    ListQuery,
    TranscriptPage,
    TranscriptQuery,
    WorkerPage,
    Capabilities,
    ProfileInfo,
    ProfileList,
    Usage,
    TurnOutcome,
    FailureReason,
    ProtocolInfo,
    RuntimeStatus,
    RuntimeSummary,
    SourceDescriptor,
    SourceKind,
    WorkerCounts,
    CloseReason,
    Snapshot,
    SnapshotState,
    StreamFrame,
    SubscribeRequest,
    Role,
    TranscriptEntry,
    CancelAck,
    CancelOutcome,
    CreateWorkerRequest,
    InputAck,
    InputDisposition,
    InputKind,
    InputRequest,
    LifecycleRequest,
    StopAck,
    StopOutcome,
    TurnInfo,
    WhenBusy,
    WorkerDetail,
    WorkerState,
    WorkerSummary,
)))]
struct FullDoc;

/// Only top-level bodies: everything they refer to must be pulled in by the schemas themselves.
#[derive(OpenApi)]
#[openapi(components(schemas(ErrorEnvelope, StreamFrame, WorkerPage, TranscriptPage, InputAck, StopAck, CancelAck)))]
struct BodiesOnlyDoc;

/// The full document as JSON, the form clients read.
fn full_doc() -> Value {
    serde_json::to_value(FullDoc::openapi()).unwrap()
}

/// A component schema by name.
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc.pointer(&format!("/components/schemas/{name}")).unwrap_or_else(|| panic!("no schema {name}"))
}

/// Every `$ref` anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.push(r.to_owned());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The values a tag property takes across a tagged enum's variants.
fn tag_values<'a>(doc: &'a Value, enum_schema: &'a Value, tag: &str) -> BTreeSet<&'a str> {
    let variants = resolve(doc, enum_schema)["oneOf"].as_array().expect("tagged enums are oneOf");
    let mut values = BTreeSet::new();
    for variant in variants {
        let parts = variant.get("allOf").and_then(Value::as_array).map_or(vec![variant], |p| p.iter().collect());
        for part in parts {
            values.extend(strings(&resolve(doc, part)["properties"][tag]["enum"]));
        }
    }
    values
}

/// A busy worker with every optional field that serde writes filled in.
fn sample_worker() -> WorkerDetail {
    let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    WorkerDetail {
        summary: WorkerSummary {
            runtime_id: RuntimeId::parse("dev").unwrap(),
            worker_id: WorkerId::parse("w-1").unwrap(),
            title: Some("t".into()),
            state: WorkerState::Busy,
            profile: "default".into(),
            executor: "echo".into(),
            model: Some("m".into()),
            created_at: at,
            updated_at: at,
            transcript_len: 3,
        },
        metadata: [("k".to_owned(), "v".to_owned())].into(),
        current_turn: Some(TurnInfo { turn_id: 2, started_at: at }),
        queued_inputs: 1,
        end_reason: None,
        usage: Usage { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    }
}

/// A transcript page with an assistant entry that carries every reply fact.
fn sample_transcript() -> TranscriptPage {
    let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let reply = TranscriptEntry {
        outcome: Some(TurnOutcome::Cancelled),
        executor: Some("openai".into()),
        model: Some("m".into()),
        finish_reason: Some("stop".into()),
        usage: Some(Usage { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }),
        first_token_ms: Some(12),
        duration_ms: Some(40),
        ..TranscriptEntry::new(2, Role::Assistant, "hello".into(), at, Some(1))
    };
    TranscriptPage {
        worker_id: WorkerId::parse("w-1").unwrap(),
        entries: vec![TranscriptEntry::new(1, Role::User, "hi".into(), at, Some(1)), reply],
        limit: 50,
        next_after: None,
        last_seq: 2,
    }
}

/// A runtime summary with non-empty lists.
fn sample_runtime() -> RuntimeSummary {
    RuntimeSummary {
        runtime_id: RuntimeId::parse("dev").unwrap(),
        own_id: None,
        display_name: "Dev".into(),
        status: RuntimeStatus::Degraded,
        workers: WorkerCounts { total: 1, busy: 1, ..Default::default() },
        capabilities: Capabilities {
            when_busy: WhenBusy::ALL.to_vec(),
            profiles: vec![ProfileInfo {
                model: Some("m".into()),
                description: Some("d".into()),
                ..ProfileInfo::new("default", "openai")
            }],
            ..Capabilities::read_only()
        },
        protocol: ProtocolInfo::current(&[runtime::feature::EVENTS]),
        log_id: "log-1".into(),
        last_event_seq: 9,
        heartbeat_ms: Some(15_000),
    }
}

/// One frame of every type, both snapshot scopes and a spread of event kinds.
fn sample_frames() -> Vec<StreamFrame> {
    let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let event = |body| StreamFrame::Event {
        event: Event { seq: 7, at, worker_id: WorkerId::parse("w-1").unwrap(), state: WorkerState::Busy, body },
    };
    vec![
        StreamFrame::Snapshot(Snapshot {
            seq: 1,
            log_id: "l".into(),
            state: SnapshotState::Worker { worker: sample_worker() },
        }),
        StreamFrame::Snapshot(Snapshot {
            seq: 1,
            log_id: "l".into(),
            state: SnapshotState::Runtime { runtime: sample_runtime() },
        }),
        event(EventBody::WorkerCreated { worker: sample_worker().summary }),
        event(EventBody::InputAccepted {
            turn_id: 2,
            transcript_seq: 3,
            input_kind: InputKind::System,
            disposition: InputDisposition::Queued,
        }),
        event(EventBody::TurnDelta { turn_id: 2, delta: "hel".into() }),
        event(EventBody::TurnCancelled { turn_id: 2, transcript_seq: 4, reason: Some("r".into()), reply_seq: Some(3) }),
        event(EventBody::TurnCompleted { turn_id: 2, transcript_seq: 4, usage: Some(Usage::default()) }),
        event(EventBody::TurnFailed {
            turn_id: 2,
            transcript_seq: 4,
            reason: FailureReason::ProviderTimeout,
            error: "e".into(),
            reply_seq: Some(3),
        }),
        event(EventBody::WorkerFailed { transcript_seq: 5, error: "e".into() }),
        StreamFrame::Heartbeat { seq: 3, at },
        StreamFrame::Lagged { missed: 10, resume_after: 4 },
        StreamFrame::Closed { reason: CloseReason::CursorExpired, message: "gone".into(), earliest_seq: Some(9) },
    ]
}

#[test]
fn every_reference_resolves_even_when_only_bodies_are_listed() {
    for doc in [full_doc(), serde_json::to_value(BodiesOnlyDoc::openapi()).unwrap()] {
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            assert!(doc.pointer(r.trim_start_matches('#')).is_some(), "dangling {r}");
        }
    }
}

#[test]
fn error_code_schema_lists_every_wire_name_from_the_table() {
    let doc = full_doc();
    let codes = schema(&doc, "ErrorCode");
    assert_eq!(codes["type"], "string");
    let names = strings(&codes["enum"]);
    assert_eq!(names.len(), ErrorCode::ALL.len());
    assert!(names.contains("worker_not_found"));
    assert!(ErrorCode::ALL.iter().all(|c| names.contains(c.as_str())));
}

#[test]
fn api_error_schema_follows_its_wire_form() {
    let doc = full_doc();
    let error = schema(&doc, "ApiError");
    assert_eq!(strings(&error["required"]), ["code", "message", "retryable"].into());
    assert_eq!(error["properties"]["retryable"]["type"], "boolean");
    let props: BTreeSet<_> = error["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    let wire = [
        "code",
        "message",
        "retryable",
        "runtime_id",
        "worker_id",
        "earliest_seq",
        "field",
        "retry_after_s",
        "problems",
    ];
    assert_eq!(props, wire.into());
    assert_eq!(schema(&doc, "ErrorEnvelope")["properties"]["error"]["$ref"], "#/components/schemas/ApiError");
}

#[test]
fn ids_are_bounded_strings_with_the_validators_pattern() {
    let doc = full_doc();
    for (name, pattern) in
        [("RuntimeId", "^[a-z0-9][a-z0-9_-]{0,63}$"), ("WorkerId", "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    {
        let id = schema(&doc, name);
        assert_eq!(id["type"], "string", "{name}");
        assert_eq!((id["minLength"].as_u64(), id["maxLength"].as_u64()), (Some(1), Some(64)), "{name}");
        assert_eq!(id["pattern"], pattern, "{name}");
    }
}

#[test]
fn create_metadata_is_bounded_as_the_validator_bounds_it() {
    let doc = full_doc();
    let metadata = &schema(&doc, "CreateWorkerRequest")["properties"]["metadata"];
    assert_eq!(metadata["maxProperties"].as_u64(), Some(crate::limits::MAX_METADATA_ENTRIES as u64));
    let (key, value) = (&metadata["propertyNames"], &metadata["additionalProperties"]);
    assert_eq!((key["minLength"].as_u64(), key["maxLength"].as_u64()), (Some(1), Some(64)));
    assert_eq!((value["minLength"].as_u64(), value["maxLength"].as_u64()), (Some(0), Some(1024)));
    assert_eq!(key["pattern"], value["pattern"]);
    assert_eq!(strings(&metadata["type"]), ["object", "null"].into());
}

/// The names serde writes for `values`, to compare with a schema's `enum`.
fn wire_names<T: serde::Serialize>(values: &[T]) -> BTreeSet<String> {
    values.iter().map(|v| serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()).collect()
}

#[test]
fn unit_enums_use_their_snake_case_wire_names() {
    let doc = full_doc();
    let names = |name| strings(&schema(&doc, name)["enum"]).into_iter().map(str::to_owned).collect::<BTreeSet<_>>();
    let states = [WorkerState::Idle, WorkerState::Busy, WorkerState::Stopped, WorkerState::Failed];
    assert_eq!(names("WorkerState"), wire_names(&states));
    assert_eq!(strings(&schema(&doc, "WorkerState")["enum"]), ["idle", "busy", "stopped", "failed"].into());
    assert_eq!(names("WhenBusy"), wire_names(&WhenBusy::ALL));
    assert_eq!(
        names("SourceKind"),
        wire_names(&[SourceKind::Embedded, SourceKind::RemoteHttp, SourceKind::LocalCompat])
    );
}

#[test]
fn defaulted_and_skipped_fields_are_optional_and_the_rest_required() {
    let doc = full_doc();
    let input = schema(&doc, "InputRequest");
    assert_eq!(strings(&input["required"]), ["content"].into());
    assert!(input["properties"]["when_busy"].is_object());
    assert_eq!(input["additionalProperties"], false, "deny_unknown_fields");
    let entry = schema(&doc, "TranscriptEntry");
    assert_eq!(strings(&entry["required"]), ["seq", "role", "content", "at"].into());
}

#[test]
fn tagged_enums_expose_every_tag_value() {
    let doc = full_doc();
    let event = schema(&doc, "Event");
    let body = event["allOf"].as_array().unwrap().iter().find(|part| part.get("$ref").is_some()).unwrap();
    let kinds = tag_values(&doc, body, "kind");
    assert_eq!(kinds.len(), 10);
    assert!(kinds.contains("turn_delta") && kinds.contains("worker_created"));
    let types = tag_values(&doc, schema(&doc, "StreamFrame"), "type");
    assert_eq!(types, ["snapshot", "event", "heartbeat", "lagged", "closed"].into());
    assert_eq!(tag_values(&doc, schema(&doc, "SnapshotState"), "scope"), ["runtime", "worker"].into());
}

#[test]
fn timestamps_are_date_time_strings() {
    let doc = full_doc();
    let summary = schema(&doc, "WorkerSummary");
    for field in ["created_at", "updated_at"] {
        assert_eq!(summary["properties"][field]["type"], "string", "{field}");
        assert_eq!(summary["properties"][field]["format"], "date-time", "{field}");
    }
    assert_eq!(schema(&doc, "TranscriptEntry")["properties"]["at"]["type"], "string");
}

#[test]
fn serialized_samples_conform_to_their_schemas() {
    let doc = full_doc();
    let err = ApiError::cursor_expired(1, 5)
        .with_runtime(RuntimeId::parse("dev").unwrap())
        .with_worker(WorkerId::parse("W-1").unwrap());
    let mut samples: Vec<(&str, Value)> = vec![
        ("ErrorEnvelope", serde_json::to_value(ErrorEnvelope { error: err }).unwrap()),
        ("ErrorEnvelope", serde_json::to_value(ErrorEnvelope { error: ApiError::internal() }).unwrap()),
        ("WorkerPage", json!({"workers": [sample_worker().summary], "limit": 50, "next_after": "w-1"})),
        ("InputRequest", serde_json::to_value(InputRequest::user("hi").when_busy(WhenBusy::Queue)).unwrap()),
        (
            "CancelAck",
            serde_json::to_value(CancelAck {
                worker_id: WorkerId::parse("w-1").unwrap(),
                outcome: CancelOutcome::NothingToCancel,
                turn_id: None,
                dropped_queued: 0,
                state: WorkerState::Idle,
            })
            .unwrap(),
        ),
        ("TranscriptPage", serde_json::to_value(sample_transcript()).unwrap()),
        (
            "ProfileList",
            serde_json::to_value(ProfileList { profiles: sample_runtime().capabilities.profiles }).unwrap(),
        ),
    ];
    samples.extend(sample_frames().iter().map(|f| ("StreamFrame", serde_json::to_value(f).unwrap())));
    for (name, value) in samples {
        if let Err(mismatch) = conforms(&doc, schema(&doc, name), &value, name) {
            panic!("{mismatch}\n{value:#}");
        }
    }
}

#[test]
fn the_checker_rejects_json_serde_would_not_write() {
    let doc = full_doc();
    let delta = serde_json::to_value(&sample_frames()[4]).unwrap();
    let snapshot = serde_json::to_value(&sample_frames()[0]).unwrap();
    let mut bad_frames = Vec::new();
    let mut edit = |frame: &Value, change: fn(&mut Value)| {
        let mut frame = frame.clone();
        change(&mut frame);
        bad_frames.push(frame);
    };
    edit(&delta, |f| f["event"]["kind"] = json!("turnDelta"));
    edit(&delta, |f| f["event"]["turn"] = json!(1));
    edit(&delta, |f| f["event"]["state"] = json!("Busy"));
    edit(&snapshot, |f| drop(f.as_object_mut().unwrap().remove("scope")));
    edit(&snapshot, |f| drop(f["worker"].as_object_mut().unwrap().remove("created_at")));
    edit(&snapshot, |f| f["worker"]["metadata"]["k"] = json!(1));
    bad_frames.push(json!({"type": "heartbeat", "seq": 1, "at": "yesterday"}));
    for bad in bad_frames {
        assert!(conforms(&doc, schema(&doc, "StreamFrame"), &bad, "StreamFrame").is_err(), "{bad:#}");
    }
    let no_retryable = json!({"error": {"code": "internal", "message": "internal error"}});
    assert!(conforms(&doc, schema(&doc, "ErrorEnvelope"), &no_retryable, "ErrorEnvelope").is_err());
}
