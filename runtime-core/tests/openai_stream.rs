//! The `openai` executor reads the streams real servers send: every shape that must work does, with the
//! reply's facts, and a request that carries what the profile says.

mod support;

use std::time::Duration;

use runtime_api::Usage;
use runtime_core::Executor;
use serde_json::json;
use support::openai::*;

#[tokio::test]
async fn a_standard_stream_becomes_deltas_and_facts_from_a_request_built_from_the_profile() {
    let (result, out, server) = play(vec![Behaviour::reply(&["Hel", "lo", " there"])]).await;
    result.unwrap();
    assert_eq!(out.text(), "Hello there");
    assert_eq!(out.facts.model.as_deref(), Some("scripted-model"));
    assert_eq!(out.facts.finish_reason.as_deref(), Some("stop"));
    assert_eq!(out.facts.usage, Some(Usage { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }));

    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(request.header("accept"), Some("text/event-stream"));
    assert_eq!(request.header("authorization"), None, "no key configured, none sent");
    assert_eq!(
        request.body,
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello!"},
                {"role": "user", "content": "hello"},
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn chunks_that_arrive_together_go_out_as_one_delta_and_chunks_apart_as_several() {
    let together: String = ["a", "b", "c"].iter().map(|t| format!("data: {}\n\n", content_chunk(t))).collect();
    let steps = vec![Step::Raw(together), data(finish_chunk("stop")), done()];
    let (result, out, _server) = play(vec![stream(steps)]).await;
    result.unwrap();
    assert_eq!(out.deltas, ["abc"], "one write of three chunks is one delta");

    let (result, out, _server) =
        play(vec![Behaviour::reply_slowly(&["a", "b", "c"], Duration::from_millis(300))]).await;
    result.unwrap();
    assert_eq!(out.deltas, ["a", "b", "c"], "chunks apart stream apart");
}

#[tokio::test]
async fn crlf_comments_empty_deltas_and_a_usage_chunk_with_choices_work_without_done() {
    let usage_with_choices = json!({
        "id": "x", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": {}}],
        "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}
    });
    let steps = vec![
        Step::Comment("keep-alive".into()),
        Step::Raw(format!("data: {}\r\n\r\n", role_chunk())),
        Step::Raw(format!("data: {}\r\n\r\n", empty_chunk())),
        // One event split across two writes, and one written with a bare CR line end.
        Step::Raw(format!("data: {}", content_chunk("one "))),
        Step::Raw("\r\n\r\n".into()),
        Step::Comment("still here".into()),
        Step::Raw(format!("data: {}\r\r", content_chunk("two"))),
        data(finish_chunk("length")),
        data(usage_with_choices.to_string()),
        // The stream ends here: no [DONE].
    ];
    let (result, out, _server) = play(vec![stream(steps)]).await;
    result.unwrap();
    assert_eq!(out.text(), "one two");
    assert_eq!(out.facts.finish_reason.as_deref(), Some("length"));
    assert_eq!(out.facts.usage, Some(Usage { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 }));
}

#[tokio::test]
async fn usage_in_the_finishing_chunk_and_a_missing_total_are_read() {
    let last = json!({
        "choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1}
    });
    let (result, out, _server) =
        play(vec![stream(vec![data(content_chunk("hi")), data(last.to_string()), done()])]).await;
    result.unwrap();
    assert_eq!(out.text(), "hi!");
    assert_eq!(out.facts.usage, Some(Usage { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 }));
}

#[tokio::test]
async fn other_choices_and_unknown_named_events_are_ignored() {
    let second_choice = json!({"choices": [{"index": 1, "delta": {"content": "other"}}]});
    let steps = vec![
        data(content_chunk("mine")),
        data(second_choice.to_string()),
        Step::Raw("event: ping\ndata: {}\n\n".into()),
        data(finish_chunk("stop")),
        done(),
    ];
    let (result, out, _server) = play(vec![stream(steps)]).await;
    result.unwrap();
    assert_eq!(out.text(), "mine");
}

#[tokio::test]
async fn a_stream_that_stays_open_after_done_still_completes() {
    let steps = vec![data(content_chunk("ok")), data(finish_chunk("stop")), done(), Step::Hang];
    let started = tokio::time::Instant::now();
    let (result, out, _server) = play(vec![stream(steps)]).await;
    result.unwrap();
    assert_eq!(out.text(), "ok");
    assert!(started.elapsed() < Duration::from_secs(3), "[DONE] ends the turn without waiting for the socket");
}

#[tokio::test]
async fn a_finished_reply_whose_usage_never_comes_completes_at_the_idle_limit() {
    let server = ModelServer::start().await;
    server.push(stream(vec![data(content_chunk("ok")), data(finish_chunk("stop")), Step::Hang]));
    let mut settings = settings(&server);
    settings.idle_timeout = Duration::from_secs(1);
    let (result, out) = run(&executor(settings)).await;
    result.unwrap();
    assert_eq!((out.text().as_str(), out.facts.usage), ("ok", None));
}

#[tokio::test]
async fn the_key_is_read_at_every_turn_so_a_rotated_key_file_takes_effect() {
    let server = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "sk-first\n").unwrap();
    let mut settings = settings(&server);
    settings.api_key = Some(secrets::SecretRef::File(key.clone()));
    let executor = executor(settings);
    run(&executor).await.0.unwrap();
    std::fs::write(&key, "sk-second").unwrap();
    run(&executor).await.0.unwrap();
    let keys: Vec<_> = server.requests().iter().map(|r| r.header("authorization").unwrap().to_owned()).collect();
    assert_eq!(keys, ["Bearer sk-first", "Bearer sk-second"]);
}

#[tokio::test]
async fn temperature_and_max_tokens_are_passed_through() {
    let server = ModelServer::start().await;
    let mut settings = settings(&server);
    settings.temperature = Some(0.25);
    settings.max_tokens = Some(64);
    run(&executor(settings)).await.0.unwrap();
    let body = &server.requests()[0].body;
    assert_eq!((body["temperature"].as_f64(), body["max_tokens"].as_u64()), (Some(0.25), Some(64)));
}

#[tokio::test]
async fn dropping_a_turn_mid_stream_closes_the_provider_connection_at_once() {
    let server = ModelServer::start().await;
    server.push(Behaviour::reply_slowly(&["a ", "b ", "c ", "d"], Duration::from_millis(500)));
    let executor = executor(settings(&server));
    let mut out = Collected::default();
    let turn = executor.run(turn(), &mut out);
    // Long enough for the first piece, far too short for the whole reply.
    assert!(tokio::time::timeout(Duration::from_millis(700), turn).await.is_err());
    // Prompt, not merely eventual: the reply's remaining pieces would take another 1.3 s. (How prompt is
    // measured by the model_stream benchmark, not here.)
    assert!(server.wait_closed(0, Duration::from_millis(500)).await, "the provider sees the connection drop");
    assert!(server.client_closed_early(0));
    assert!(!out.deltas.is_empty() && out.deltas.len() < 4, "{:?}", out.deltas);
}
