use std::collections::BTreeMap;

use super::*;
use crate::turn::Usage;
use crate::worker::{TurnInfo, WorkerSummary};

fn detail() -> WorkerDetail {
    let at: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    WorkerDetail {
        summary: WorkerSummary {
            runtime_id: RuntimeId::parse("dev").unwrap(),
            worker_id: WorkerId::parse("w-01jabc").unwrap(),
            title: Some("Report".into()),
            state: WorkerState::Busy,
            profile: "default".into(),
            executor: "echo".into(),
            model: None,
            created_at: at,
            updated_at: at,
            transcript_len: 3,
        },
        metadata: BTreeMap::from([("team".into(), "infra".into())]),
        current_turn: Some(TurnInfo { turn_id: 2, started_at: at }),
        queued_inputs: 1,
        end_reason: Some("stopped by a user".into()),
        usage: Usage { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    }
}

fn encoded(value: &serde_json::Value) -> bytes::Bytes {
    serde_json::to_vec(value).unwrap().into()
}

fn dev() -> RuntimeId {
    RuntimeId::parse("dev").unwrap()
}

#[test]
fn what_a_runtime_encodes_passes_and_decodes_to_the_same_detail() {
    let bytes = bytes::Bytes::from(serde_json::to_vec(&detail()).unwrap());
    let verbatim = VerbatimDetail::check(bytes.clone(), &dev()).expect("a runtime's own encoding is forwardable");
    assert_eq!(verbatim.bytes(), &bytes[..]);
    assert_eq!(verbatim.end_reason(), Some("stopped by a user"));
    assert_eq!(verbatim.decode().unwrap(), detail());
}

/// A change to a detail's JSON.
type Change = fn(&mut serde_json::Value);

#[test]
fn anything_a_re_encoding_would_change_takes_the_long_way() {
    let good = serde_json::to_value(detail()).unwrap();
    let variants: [(&str, Change); 17] = [
        ("an invalid runtime id", |v| v["runtime_id"] = "Not An Id".into()),
        ("an unknown field", |v| v["extra"] = "/etc/passwd".into()),
        ("an unknown field in the turn", |v| v["current_turn"]["extra"] = 1.into()),
        ("an unknown field in usage", |v| v["usage"]["extra"] = 1.into()),
        ("a null", |v| v["model"] = serde_json::Value::Null),
        ("an escape", |v| v["title"] = "a \"quoted\" title".into()),
        ("a non-ASCII character", |v| v["title"] = "レポート".into()),
        ("an invisible character", |v| v["title"] = "to\u{200B}ken".into()),
        ("a DEL", |v| v["title"] = "a\u{7f}b".into()),
        ("no usage (an older runtime)", |v| drop(v.as_object_mut().unwrap().remove("usage"))),
        ("a local-time timestamp", |v| v["created_at"] = "2026-12-01T19:00:00+09:00".into()),
        ("a metadata value that is not a string", |v| v["metadata"]["n"] = 1.into()),
        ("usage as an array", |v| v["usage"] = serde_json::json!([1, 2, 3])),
        ("the turn as an array", |v| v["current_turn"] = serde_json::json!([2, "2026-12-01T10:00:00Z"])),
        ("a timestamp without seconds", |v| v["created_at"] = "2026-12-01T10:00Z".into()),
        ("a timestamp with a space", |v| v["updated_at"] = "2026-12-01 10:00:00Z".into()),
        ("a leap second", |v| v["current_turn"]["started_at"] = "2016-12-31T23:59:60Z".into()),
    ];
    for (what, change) in variants {
        let mut value = good.clone();
        change(&mut value);
        assert!(VerbatimDetail::check(encoded(&value), &dev()).is_none(), "{what}");
    }
    let bad_worker = encoded(&serde_json::json!({"worker_id": "no spaces allowed"}));
    assert!(VerbatimDetail::check(bad_worker, &dev()).is_none());
}

#[test]
fn the_word_null_in_a_string_only_costs_the_long_way() {
    let mut value = serde_json::to_value(detail()).unwrap();
    value["title"] = "nullable".into();
    assert!(VerbatimDetail::check(encoded(&value), &dev()).is_none());
}

#[test]
fn the_remotes_own_runtime_id_is_written_over_with_the_registered_one() {
    let mut value = serde_json::to_value(detail()).unwrap();
    value["runtime_id"] = "the-remotes-own-name".into();
    let verbatim = VerbatimDetail::check(encoded(&value), &dev()).expect("only the id differs");
    assert_eq!(verbatim.decode().unwrap(), detail(), "reads as the detail relabelled");
    assert_eq!(verbatim.end_reason(), Some("stopped by a user"), "the end reason's place moved with the id");
}

#[test]
fn a_detail_written_as_an_array_or_with_a_repeated_key_takes_the_long_way() {
    let good = serde_json::to_string(&detail()).unwrap();
    let at = "2026-12-01T10:00:00Z";
    let positional = format!(
        r#"["dev","w-01jabc","Report","busy","default","echo","gpt","{at}","{at}",3,{{}},{{"turn_id":2,"started_at":"{at}"}},0,"done",{{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}]"#
    );
    assert!(serde_json::from_str::<StrictDetail<'_>>(&positional).is_ok(), "serde reads a struct from an array");
    let repeated = good.replace(r#""metadata":{"team":"infra"}"#, r#""metadata":{"team":"infra","team":"ops"}"#);
    assert_ne!(repeated, good, "the metadata was found");
    for body in [positional, repeated] {
        assert!(VerbatimDetail::check(body.clone().into(), &dev()).is_none(), "{body}");
    }
}

#[test]
fn an_end_reason_before_the_runtime_id_keeps_its_place_when_the_id_changes_length() {
    let body = r#"{"end_reason":"stopped by a user","runtime_id":"x","worker_id":"w-01jabc","title":"Report","state":"busy","profile":"default","executor":"echo","created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z","transcript_len":3,"metadata":{"team":"infra"},"current_turn":{"turn_id":2,"started_at":"2026-12-01T10:00:00Z"},"queued_inputs":1,"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;
    let verbatim = VerbatimDetail::check(body.into(), &RuntimeId::parse("a-much-longer-id").unwrap()).unwrap();
    assert_eq!(verbatim.end_reason(), Some("stopped by a user"));
    assert_eq!(verbatim.decode().unwrap().summary.runtime_id.as_str(), "a-much-longer-id");
}
