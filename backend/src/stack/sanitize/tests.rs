use futures::StreamExt;
use runtime_api::{ErrorCode, Event, EventBody, Role, RuntimeId, StreamFrame, TranscriptEntry, WorkerId, WorkerState};

use super::*;

fn owner() -> RuntimeId {
    RuntimeId::parse("remote-dev").unwrap()
}

fn sanitizer() -> Sanitizer {
    let url = url::Url::parse("http://10.1.2.3:8790/").unwrap();
    Sanitizer::new().endpoint(&owner(), &url).secret(SecretKind::Token, &owner(), "s3cr3t-token").secret(
        SecretKind::TokenRef,
        &owner(),
        "env:DEV_TOKEN",
    )
}

#[test]
fn secrets_become_named_placeholders_in_every_form() {
    let mut text =
        "GET http://10.1.2.3:8790/v1/runtime via 10.1.2.3:8790 with s3cr3t-token from env:DEV_TOKEN".to_owned();
    sanitizer().text(&mut text);
    assert_eq!(
        text,
        "GET <endpoint of remote-dev>/v1/runtime via <endpoint of remote-dev> with <token of remote-dev> \
         from <token reference of remote-dev>"
    );
}

#[test]
fn a_secret_split_by_invisible_characters_is_still_found() {
    for hidden in ["s3cr3t\u{7}-token", "s3cr\u{200B}3t-token", "s3cr3t-tok\u{FEFF}en", "s3\u{0}cr3t-token"] {
        let mut text = format!("runtime {hidden}\nsecond line\tok");
        sanitizer().text(&mut text);
        assert_eq!(text, "runtime <token of remote-dev>\nsecond line\tok", "{hidden:?}");
    }
}

#[test]
fn runtime_text_loses_urls_and_paths_but_keeps_its_meaning() {
    let mut text =
        "turn 2 failed: cannot open /var/lib/yoi/data (os error 2), see \"https://internal/x\", ok".to_owned();
    sanitizer().diagnostic(&mut text);
    assert_eq!(text, "turn 2 failed: cannot open <path> (os error 2), see \"<url>\", ok");
    let mut windows = r"store C:\Users\me\data is locked".to_owned();
    sanitizer().diagnostic(&mut windows);
    assert_eq!(windows, "store <path> is locked");
}

#[test]
fn user_content_keeps_paths_but_not_secrets() {
    let mut entry = TranscriptEntry::new(
        1,
        Role::User,
        "please read /etc/hosts and s3cr3t-token".into(),
        runtime_api::Timestamp::UNIX_EPOCH,
        Some(1),
    );
    entry.sanitize(&sanitizer());
    assert_eq!(entry.content, "please read /etc/hosts and <token of remote-dev>");
    entry.model = Some("model s3cr3t-token".into());
    entry.sanitize(&sanitizer());
    assert_eq!(entry.model.as_deref(), Some("model <token of remote-dev>"), "reply facts are scrubbed too");
    entry.role = Role::Notice;
    entry.content = "turn 1 failed: /etc/hosts unreadable".into();
    entry.sanitize(&sanitizer());
    assert_eq!(entry.content, "turn 1 failed: <path> unreadable");
}

#[test]
fn short_strings_are_not_registered_as_secrets() {
    let mut text = "a b c".to_owned();
    Sanitizer::new().secret(SecretKind::Token, &owner(), "b").text(&mut text);
    assert_eq!(text, "a b c");
}

#[tokio::test]
async fn errors_and_stream_frames_are_scrubbed_on_the_way_out() {
    let refused = Err(ApiError::new(ErrorCode::RuntimeUnavailable, "connect to http://10.1.2.3:8790/ refused"));
    let frame = StreamFrame::Event {
        event: Event {
            seq: 1,
            at: runtime_api::Timestamp::UNIX_EPOCH,
            worker_id: WorkerId::parse("w-1").unwrap(),
            state: WorkerState::Idle,
            body: EventBody::TurnFailed {
                turn_id: 1,
                transcript_seq: 2,
                reason: runtime_api::FailureReason::ProviderError,
                error: "token s3cr3t-token rejected by /opt/model".into(),
                reply_seq: None,
            },
        },
    };
    let streamed = Ok(SourceResponse::Stream(Box::pin(futures::stream::iter([frame]))));

    let error = scrub(refused, &sanitizer()).err().unwrap();
    assert_eq!(error.message, "connect to <endpoint of remote-dev>/ refused");

    let response = scrub(streamed, &sanitizer());
    let Ok(SourceResponse::Stream(mut stream)) = response else { panic!("expected a stream") };
    let Some(StreamFrame::Event { event }) = stream.next().await else { panic!("expected an event") };
    let EventBody::TurnFailed { error, .. } = event.body else { panic!("expected turn_failed") };
    assert_eq!(error, "token <token of remote-dev> rejected by <path>");
}

#[test]
fn hosts_are_scrubbed_as_whole_names_only() {
    let owner = owner();
    let default_port = Sanitizer::new().endpoint(&owner, &url::Url::parse("http://10.9.8.7:80/").unwrap());
    let mut text = "connect to 10.9.8.7 failed; 10.9.8.70 and 10.9.8.7.5 are others; see 10.9.8.7.".to_owned();
    default_port.text(&mut text);
    assert_eq!(
        text,
        "connect to <endpoint of remote-dev> failed; 10.9.8.70 and 10.9.8.7.5 are others; see <endpoint of remote-dev>."
    );
    let named = Sanitizer::new().endpoint(&owner, &url::Url::parse("https://rt.internal.example/").unwrap());
    let mut text = "tls: certificate for rt.internal.example expired (not x.rt.internal.example)".to_owned();
    named.text(&mut text);
    assert_eq!(text, "tls: certificate for <endpoint of remote-dev> expired (not x.rt.internal.example)");
}

#[test]
fn relative_paths_and_path_fragments_count_as_paths() {
    let mut text = "cannot read .yoi/profiles.toml or /home/John Doe/ws/.yoi/data/w-1.jsonl".to_owned();
    sanitizer().diagnostic(&mut text);
    assert_eq!(text, "cannot read <path> or <path> <path>");
    let mut text = "GET /v1 answered 404".to_owned();
    sanitizer().diagnostic(&mut text);
    assert_eq!(text, "GET /v1 answered 404", "a single segment is not a location");
}

#[test]
fn protocol_fields_are_scrubbed_too() {
    let mut summary = runtime_api::RuntimeSummary {
        runtime_id: owner(),
        own_id: None,
        display_name: "dev".into(),
        status: runtime_api::RuntimeStatus::Ready,
        workers: Default::default(),
        capabilities: runtime_api::Capabilities::read_only(),
        protocol: runtime_api::ProtocolInfo {
            name: "proto via http://10.1.2.3:8790".into(),
            version: "1.0 s3cr3t-token".into(),
            features: vec![],
        },
        log_id: "l".into(),
        last_event_seq: 0,
        heartbeat_ms: None,
    };
    summary.sanitize(&sanitizer());
    assert_eq!(summary.protocol.name, "proto via <endpoint of remote-dev>");
    assert_eq!(summary.protocol.version, "1.0 <token of remote-dev>");
}

/// A remote's detail as it would send it, with `title` and `end_reason`.
fn verbatim(title: &str, end_reason: Option<&str>) -> runtime_api::VerbatimDetail {
    let mut detail = serde_json::json!({
        "runtime_id": "remote-dev", "worker_id": "w-1", "title": title, "state": "stopped", "profile": "default",
        "executor": "echo", "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z",
        "transcript_len": 0, "metadata": {}, "queued_inputs": 0,
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    });
    if let Some(reason) = end_reason {
        detail["end_reason"] = reason.into();
    }
    let bytes = serde_json::to_vec(&detail).unwrap().into();
    runtime_api::VerbatimDetail::check(bytes, &owner()).expect("plain bytes from the right runtime")
}

/// What a verbatim detail becomes after sanitizing's two steps.
fn settled(detail: runtime_api::VerbatimDetail) -> runtime_api::DetailAnswer {
    let mut response = SourceResponse::Worker(runtime_api::DetailAnswer::Verbatim(detail));
    wire::settle(&mut response, &sanitizer()).unwrap();
    response.sanitize(&sanitizer());
    let SourceResponse::Worker(answer) = response else { unreachable!("settling keeps the variant") };
    answer
}

#[test]
fn a_clean_remote_detail_stays_verbatim() {
    let clean = verbatim("Weekly report", Some("stopped by a user"));
    let bytes = clean.bytes().to_vec();
    match settled(clean) {
        runtime_api::DetailAnswer::Verbatim(kept) => assert_eq!(kept.bytes(), &bytes[..]),
        runtime_api::DetailAnswer::Decoded(_) => panic!("nothing to scrub, yet decoded"),
    }
}

#[test]
fn a_remote_detail_holding_a_secret_or_a_location_is_decoded_and_scrubbed() {
    let cases = [
        (verbatim("runs on 10.1.2.3:8790", None), "runs on <endpoint of remote-dev>", None),
        (verbatim("see http://10.1.2.3:8790", None), "see <endpoint of remote-dev>", None),
        // A token goes even from inside a word; a host inside a longer name stays, but the bytes take the long
        // way all the same.
        (verbatim("x-s3cr3t-token-y", None), "x-<token of remote-dev>-y", None),
        (verbatim("host 10.1.2.30", None), "host 10.1.2.30", None),
        (verbatim("report", Some("cannot open /var/lib/yoi/data")), "report", Some("cannot open <path>")),
    ];
    for (detail, title, end_reason) in cases {
        let runtime_api::DetailAnswer::Decoded(detail) = settled(detail) else { panic!("{title}: left verbatim") };
        assert_eq!(detail.summary.title.as_deref(), Some(title));
        assert_eq!(detail.end_reason.as_deref(), end_reason);
    }
}
