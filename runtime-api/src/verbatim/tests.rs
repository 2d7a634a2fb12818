use std::collections::BTreeMap;

use super::*;
use crate::turn::Usage;
use crate::worker::{InputDisposition, TurnInfo, WorkerState, WorkerSummary};
use crate::{Timestamp, WorkerId};

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
fn an_ack_in_another_shape_goes_to_the_general_decoder() {
    let plain = br#"{"worker_id":"w-1","turn_id":2,"disposition":"queued","queue_position":1,"transcript_seq":3,"event_seq":7}"#;
    let ack = read_input_ack(plain).expect("the shape a runtime writes");
    assert_eq!((ack.turn_id, ack.disposition, ack.queue_position), (2, InputDisposition::Queued, Some(1)));
    for other in [
        // A field the ack does not have, which the decoder skips.
        &br#"{"worker_id":"w-1","turn_id":2,"disposition":"started","transcript_seq":3,"event_seq":7,"x":1}"#[..],
        // A null queue position, an escape in a string, a repeated field, a float, a missing field.
        br#"{"worker_id":"w-1","turn_id":2,"disposition":"started","queue_position":null,"transcript_seq":3,"event_seq":7}"#,
        br#"{"worker_id":"w-\u0031","turn_id":2,"disposition":"started","transcript_seq":3,"event_seq":7}"#,
        br#"{"worker_id":"w-1","turn_id":2,"turn_id":2,"disposition":"started","transcript_seq":3,"event_seq":7}"#,
        br#"{"worker_id":"w-1","turn_id":2.0,"disposition":"started","transcript_seq":3,"event_seq":7}"#,
        br#"{"worker_id":"w-1","turn_id":2,"disposition":"started","transcript_seq":3}"#,
        br#"{"worker_id":"w-1","turn_id":2,"disposition":"started","queue_position":4294967296,"transcript_seq":3,"event_seq":7}"#,
    ] {
        assert_eq!(read_input_ack(other), None, "{}", String::from_utf8_lossy(other));
    }
}

#[test]
fn the_word_null_or_a_bracket_in_a_string_is_only_text() {
    let mut value = serde_json::to_value(detail()).unwrap();
    value["title"] = "nullable [draft]".into();
    let verbatim = VerbatimDetail::check(encoded(&value), &dev()).expect("a plain string");
    assert_eq!(verbatim.decode().unwrap().summary.title.as_deref(), Some("nullable [draft]"));
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
    assert!(serde_json::from_str::<WorkerDetail>(&positional).is_ok(), "serde reads a struct from an array");
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

mod differential {
    //! The hand-written reader against the long way (serde and jiff), which stays the reference.

    use proptest::prelude::*;

    use super::*;

    /// Text the long way writes back as it came: printable ASCII without a quote or backslash.
    fn plain_text() -> impl Strategy<Value = String> {
        "[ !#-\\[\\]-~]{0,24}"
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        // Years 1 to 9998 and any nanosecond, with round numbers as likely as the rest.
        let seconds = -62_135_596_800i64..253_370_764_800;
        let nanos = prop_oneof![Just(0i32), 0..1_000_000_000i32, (0..1000i32).prop_map(|ms| ms * 1_000_000)];
        (seconds, nanos).prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
    }

    prop_compose! {
        fn any_detail()(
            runtime_id in "[a-z][a-z0-9-]{0,20}[a-z0-9]",
            worker_id in "w-[0-9a-z]{1,26}",
            title in proptest::option::of(plain_text()),
            state in prop_oneof![
                Just(WorkerState::Idle), Just(WorkerState::Busy), Just(WorkerState::Stopped), Just(WorkerState::Failed)
            ],
            (profile, executor, model) in (plain_text(), plain_text(), proptest::option::of(plain_text())),
            (created_at, updated_at) in (timestamp(), timestamp()),
            transcript_len in any::<u64>(),
            metadata in proptest::collection::btree_map(plain_text(), plain_text(), 0..5),
            current_turn in proptest::option::of((any::<u64>(), timestamp())),
            queued_inputs in any::<u32>(),
            end_reason in proptest::option::of(plain_text()),
            usage in any::<(u64, u64, u64)>(),
        ) -> WorkerDetail {
            WorkerDetail {
                summary: WorkerSummary {
                    runtime_id: RuntimeId::parse(runtime_id.replace("--", "-a")).unwrap(),
                    worker_id: WorkerId::parse(worker_id).unwrap(),
                    title, state, profile, executor, model, created_at, updated_at, transcript_len,
                },
                metadata,
                current_turn: current_turn.map(|(turn_id, started_at)| TurnInfo { turn_id, started_at }),
                queued_inputs,
                end_reason,
                usage: Usage { prompt_tokens: usage.0, completion_tokens: usage.1, total_tokens: usage.2 },
            }
        }
    }

    /// One byte changed, added or taken away, favouring the bytes that change JSON's meaning.
    fn mutation() -> impl Strategy<Value = (usize, u8, u8)> {
        let byte = prop_oneof![proptest::sample::select(b"{}[]:,\"\\ -.0123456789eEnultrZT+".to_vec()), any::<u8>(),];
        (any::<usize>(), 0..3u8, byte)
    }

    fn mutate(bytes: &[u8], (at, how, byte): (usize, u8, u8)) -> Vec<u8> {
        let mut out = bytes.to_vec();
        let at = at % (out.len() + 1);
        match how {
            0 if at < out.len() => out[at] = byte,
            1 => out.insert(at, byte),
            _ if at < out.len() => drop(out.remove(at)),
            _ => out.push(byte),
        }
        out
    }

    /// `bytes` with each of `changes` made in turn.
    fn mutated(bytes: Vec<u8>, changes: Vec<(usize, u8, u8)>) -> Vec<u8> {
        changes.into_iter().fold(bytes, |bytes, change| mutate(&bytes, change))
    }

    /// What a client reading the forwarded bytes sees equals what the long way would have sent.
    fn says_what_the_long_way_says(bytes: &[u8], registered: &RuntimeId) {
        let Some(verbatim) = VerbatimDetail::check(bytes.to_vec().into(), registered) else { return };
        let mut decoded: WorkerDetail = serde_json::from_slice(bytes).expect("forwarded bytes decode");
        decoded.summary.runtime_id = registered.clone();
        let forwarded: serde_json::Value = serde_json::from_slice(verbatim.bytes()).unwrap();
        assert_eq!(forwarded, serde_json::to_value(&decoded).unwrap(), "{}", String::from_utf8_lossy(bytes));
        assert_eq!(verbatim.end_reason(), decoded.end_reason.as_deref());
    }

    prop_compose! {
        fn any_ack()(
            worker_id in "[0-9A-Za-z][0-9A-Za-z_-]{0,63}",
            turn_id in prop_oneof![any::<u64>(), 0..10u64, Just(u64::MAX)],
            disposition in proptest::sample::select(vec![
                InputDisposition::Started,
                InputDisposition::Queued,
                InputDisposition::Interrupted,
            ]),
            queue_position in proptest::option::of(any::<u32>()),
            (transcript_seq, event_seq) in (any::<u64>(), any::<u64>()),
        ) -> InputAck {
            let worker_id = WorkerId::parse(worker_id).unwrap();
            InputAck { worker_id, turn_id, disposition, queue_position, transcript_seq, event_seq }
        }
    }

    /// The quick reader gives an ack only where the general decoder gives the same one.
    fn reads_what_the_decoder_reads(bytes: &[u8]) {
        let Some(ack) = read_input_ack(bytes) else { return };
        let decoded: InputAck = serde_json::from_slice(bytes).expect("bytes the quick reader read decode");
        assert_eq!(ack, decoded, "{}", String::from_utf8_lossy(bytes));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn an_ack_is_written_as_the_general_encoder_writes_it(ack in any_ack()) {
            prop_assert_eq!(
                String::from_utf8(write_input_ack(&ack)).unwrap(),
                String::from_utf8(serde_json::to_vec(&ack).unwrap()).unwrap()
            );
        }

        #[test]
        fn every_ack_a_runtime_writes_reads_back_the_same(ack in any_ack()) {
            prop_assert_eq!(read_input_ack(&serde_json::to_vec(&ack).unwrap()), Some(ack.clone()));
            prop_assert_eq!(read_input_ack(&serde_json::to_vec_pretty(&ack).unwrap()), Some(ack));
        }

        #[test]
        fn a_changed_ack_is_read_only_as_the_decoder_reads_it(
            ack in any_ack(),
            changes in proptest::collection::vec(mutation(), 1..4),
        ) {
            reads_what_the_decoder_reads(&mutated(serde_json::to_vec(&ack).unwrap(), changes));
        }

        #[test]
        fn every_detail_a_runtime_writes_is_forwarded_as_it_came(detail in any_detail()) {
            let bytes = serde_json::to_vec(&detail).unwrap();
            let own = detail.summary.runtime_id.clone();
            let verbatim = VerbatimDetail::check(bytes.clone().into(), &own).expect("forwardable");
            prop_assert_eq!(verbatim.bytes(), &bytes[..]);
            prop_assert_eq!(verbatim.decode().unwrap(), detail.clone());
            says_what_the_long_way_says(&bytes, &RuntimeId::parse("registered-elsewhere").unwrap());
        }

        #[test]
        fn a_changed_byte_is_forwarded_only_when_it_changes_nothing(
            detail in any_detail(),
            changes in proptest::collection::vec(mutation(), 1..4),
        ) {
            says_what_the_long_way_says(&mutated(serde_json::to_vec_pretty(&detail).unwrap(), changes), &dev());
        }

        #[test]
        fn a_timestamp_passes_exactly_when_the_long_way_prints_it_so(
            text in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,10})?Z",
        ) {
            let printed = text.parse::<Timestamp>().is_ok_and(|at| at.to_string() == text);
            let passes = shape::canonical_timestamp(text.as_bytes());
            prop_assert!(!passes || printed, "passes but is not printed so: {}", text);
            let in_range = ("0001".."9999").contains(&&text[..4]);
            prop_assert!(!printed || !in_range || passes, "printed so but refused: {}", text);
        }

        #[test]
        fn a_printed_timestamp_passes(at in timestamp()) {
            prop_assert!(shape::canonical_timestamp(at.to_string().as_bytes()), "{}", at);
        }
    }
}
