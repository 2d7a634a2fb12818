//! Every way an `openai` turn fails ends with its typed reason and a message that names no key, address or
//! key reference; failures before the first token are retried when that is safe, and never after.

mod support;

use std::time::Duration;

use runtime_api::FailureReason;
use secrets::SecretRef;
use support::openai::*;

async fn failure(behaviours: Vec<Behaviour>) -> (runtime_core::ExecutorError, Collected, ModelServer) {
    let (result, out, server) = play(behaviours).await;
    (result.expect_err("the turn fails"), out, server)
}

#[tokio::test]
async fn refused_keys_are_provider_auth_failed_without_the_providers_words() {
    for code in [401, 403] {
        let body = r#"{"error": {"message": "Incorrect API key provided: sk-abc****wxyz"}}"#;
        let (error, _, _) = failure(vec![status(code, body)]).await;
        assert_eq!(error.reason, FailureReason::ProviderAuthFailed);
        assert!(error.message.contains(&code.to_string()) && !error.message.contains("sk-"), "{}", error.message);
    }
}

#[tokio::test]
async fn an_unknown_model_is_provider_model_not_found_whether_404_or_a_400_that_says_so() {
    let (error, _, _) = failure(vec![status(404, r#"{"error": "model 'test-model' not found"}"#)]).await;
    assert_eq!(error.reason, FailureReason::ProviderModelNotFound);
    assert!(error.message.contains("test-model"), "{}", error.message);
    let litellm = r#"{"error": {"message": "Invalid model name passed in model=test-model", "code": "400"}}"#;
    let (error, _, _) = failure(vec![status(400, litellm)]).await;
    assert_eq!(error.reason, FailureReason::ProviderModelNotFound);
}

#[tokio::test]
async fn a_refused_request_is_provider_bad_request_quoting_the_provider() {
    let body = r#"{"error": {"message": "max_tokens is too large: 99999999", "type": "invalid_request_error"}}"#;
    let (error, _, server) = failure(vec![status(400, body)]).await;
    assert_eq!(error.reason, FailureReason::ProviderBadRequest);
    assert!(error.message.contains("max_tokens is too large"), "{}", error.message);
    assert_eq!(server.requests().len(), 1, "a refused request is not retried");
}

#[tokio::test]
async fn rate_limits_are_retried_honouring_retry_after_then_reported() {
    let limited = || Behaviour::Status {
        status: 429,
        headers: vec![("Retry-After".into(), "1".into())],
        body: r#"{"error": {"message": "slow down"}}"#.into(),
    };
    let started = tokio::time::Instant::now();
    let (result, out, server) = play(vec![limited(), Behaviour::reply(&["ok"])]).await;
    result.unwrap();
    assert_eq!(out.text(), "ok");
    assert_eq!(server.requests().len(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited as Retry-After asked");

    let (error, _, server) = failure(vec![limited(), limited(), limited()]).await;
    assert_eq!(error.reason, FailureReason::ProviderRateLimited);
    assert!(error.message.contains("slow down"), "{}", error.message);
    assert_eq!(server.requests().len(), 3, "one try and max_retries = 2 retries");
}

#[tokio::test]
async fn a_retry_after_beyond_the_first_token_deadline_fails_at_once() {
    let limited =
        Behaviour::Status { status: 429, headers: vec![("Retry-After".into(), "3600".into())], body: String::new() };
    let started = tokio::time::Instant::now();
    let (error, _, server) = failure(vec![limited]).await;
    assert_eq!(error.reason, FailureReason::ProviderRateLimited);
    assert!(error.message.contains("3600 s"), "{}", error.message);
    assert_eq!(server.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn gateway_errors_and_dropped_connections_are_retried_but_a_500_is_not() {
    let (result, out, server) = play(vec![status(503, "busy"), Behaviour::Close, Behaviour::reply(&["up"])]).await;
    result.unwrap();
    assert_eq!((out.text().as_str(), server.requests().len()), ("up", 3));

    let (error, _, server) = failure(vec![status(500, r#"{"detail": "CUDA out of memory"}"#)]).await;
    assert_eq!(error.reason, FailureReason::ProviderUnavailable);
    assert!(error.message.contains("CUDA out of memory") && error.message.contains("500"), "{}", error.message);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_provider_is_provider_unavailable_naming_no_address() {
    let server = ModelServer::start().await;
    let mut settings = settings(&server);
    // A privileged port nothing serves (releasing a bound one instead would race with other tests).
    settings.base_url = "http://127.0.0.1:1/v1".into();
    settings.max_retries = 1;
    let (result, out) = run(&executor(settings)).await;
    let error = result.unwrap_err();
    assert_eq!(error.reason, FailureReason::ProviderUnavailable);
    assert!(error.message.contains("cannot connect"), "{}", error.message);
    assert!(!error.message.contains("127.0.0.1"), "{}", error.message);
    assert!(out.deltas.is_empty());
}

#[tokio::test]
async fn no_first_token_in_time_is_provider_timeout_whether_or_not_headers_came() {
    for behaviour in [Behaviour::Hang, stream(vec![data(role_chunk()), Step::Hang])] {
        let server = ModelServer::start().await;
        server.push(behaviour);
        let mut settings = settings(&server);
        settings.request_timeout = Duration::from_secs(1);
        let started = tokio::time::Instant::now();
        let error = run(&executor(settings)).await.0.unwrap_err();
        assert_eq!(error.reason, FailureReason::ProviderTimeout);
        assert!(error.message.contains("request_timeout_s"), "{}", error.message);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[tokio::test]
async fn a_stall_mid_reply_is_provider_timeout_after_the_idle_limit_and_is_not_retried() {
    let server = ModelServer::start().await;
    server.push(stream(vec![data(content_chunk("partial")), Step::Hang]));
    let mut settings = settings(&server);
    settings.idle_timeout = Duration::from_secs(1);
    let (result, out) = run(&executor(settings)).await;
    let error = result.unwrap_err();
    assert_eq!(error.reason, FailureReason::ProviderTimeout);
    assert!(error.message.contains("idle_timeout_s"), "{}", error.message);
    assert_eq!(out.text(), "partial");
    assert_eq!(server.requests().len(), 1, "never retried after output streamed");
}

#[tokio::test]
async fn keep_alive_comments_keep_a_slow_reply_alive_past_the_idle_limit() {
    let server = ModelServer::start().await;
    let pause = || Step::Sleep(Duration::from_millis(400));
    let comment = || Step::Comment("thinking".into());
    server.push(stream(vec![
        data(content_chunk("a")),
        pause(),
        comment(),
        pause(),
        comment(),
        pause(),
        comment(),
        data(content_chunk("b")),
        data(finish_chunk("stop")),
        done(),
    ]));
    let mut settings = settings(&server);
    settings.idle_timeout = Duration::from_secs(1);
    let (result, out) = run(&executor(settings)).await;
    result.unwrap();
    assert_eq!(out.text(), "ab");
}

#[tokio::test]
async fn an_error_object_inside_a_200_stream_is_provider_error_and_keeps_what_came_before() {
    let error_chunk = error_object("upstream model crashed", "server_error");
    let (error, out, _) = failure(vec![stream(vec![data(content_chunk("so far")), data(error_chunk)])]).await;
    assert_eq!(error.reason, FailureReason::ProviderError);
    assert!(error.message.contains("upstream model crashed"), "{}", error.message);
    assert_eq!(out.text(), "so far");

    let named = Step::Raw("event: error\ndata: {\"message\": \"overloaded\"}\n\n".into());
    let (error, _, _) = failure(vec![stream(vec![named])]).await;
    assert_eq!(error.reason, FailureReason::ProviderError);
    assert!(error.message.contains("overloaded"), "{}", error.message);
}

#[tokio::test]
async fn answers_that_are_not_chat_completion_streams_are_provider_protocol_error() {
    let json = Behaviour::StreamAs {
        content_type: "application/json".into(),
        steps: vec![Step::Raw(r#"{"choices": [{"message": {"content": "whole"}}]}"#.into())],
    };
    let html = status(302, "<html>moved</html>");
    let garbage = stream(vec![data(content_chunk("ok ")), data("{not json".into())]);
    for behaviour in [json, html, garbage] {
        let (error, _, _) = failure(vec![behaviour.clone()]).await;
        assert_eq!(error.reason, FailureReason::ProviderProtocolError, "{behaviour:?}: {}", error.message);
    }
    let json_error = Behaviour::StreamAs {
        content_type: "application/json".into(),
        steps: vec![Step::Raw(error_object("quota exceeded", "billing"))],
    };
    let (error, _, _) = failure(vec![json_error]).await;
    assert_eq!(error.reason, FailureReason::ProviderError);
}

#[tokio::test]
async fn a_stream_cut_or_ended_before_the_reply_finished_is_provider_unavailable() {
    for ending in [Step::Cut, Step::Data(String::new())] {
        let steps = vec![data(content_chunk("half")), ending];
        let (error, out, server) = failure(vec![stream(steps)]).await;
        assert_eq!(error.reason, FailureReason::ProviderUnavailable, "{}", error.message);
        assert!(error.message.contains("before the reply finished"), "{}", error.message);
        assert_eq!((out.text().as_str(), server.requests().len()), ("half", 1));
    }
}

#[tokio::test]
async fn a_missing_key_fails_the_turn_without_sending_anything() {
    let server = ModelServer::start().await;
    let mut settings = settings(&server);
    let dir = tempfile::tempdir().unwrap();
    settings.api_key = Some(SecretRef::File(dir.path().join("no-such-key-file")));
    let error = run(&executor(settings)).await.0.unwrap_err();
    assert_eq!(error.reason, FailureReason::ProviderCredentialsMissing);
    assert!(!error.message.contains("no-such-key-file"), "{}", error.message);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn provider_messages_that_echo_the_key_or_address_are_scrubbed() {
    let server = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "sk-canary-0042").unwrap();
    let base = server.base_url();
    let echo = format!(
        r#"{{"error": {{"message": "bad request to {base}/chat/completions from key sk-canary-0042 via 10.9.8.7:4000"}}}}"#
    );
    server.push(status(400, &echo));
    let mut settings = settings(&server);
    settings.api_key = Some(SecretRef::File(dir.path().join("key")));
    let error = run(&executor(settings)).await.0.unwrap_err();
    assert_eq!(error.reason, FailureReason::ProviderBadRequest);
    let port = server.addr().port().to_string();
    for hidden in ["sk-canary", "127.0.0.1", port.as_str(), "10.9.8.7", dir.path().to_str().unwrap()] {
        assert!(!error.message.contains(hidden), "{hidden} in {}", error.message);
    }
    assert!(error.message.contains("<api key>") && error.message.contains("<provider url>"), "{}", error.message);
}

#[tokio::test]
async fn a_200_that_is_not_a_stream_and_never_ends_is_bounded_by_the_first_token_deadline() {
    let server = ModelServer::start().await;
    server.push(Behaviour::StreamAs { content_type: "application/json".into(), steps: vec![Step::Hang] });
    let mut settings = settings(&server);
    settings.request_timeout = Duration::from_secs(1);
    let started = tokio::time::Instant::now();
    let error = run(&executor(settings)).await.0.unwrap_err();
    assert_eq!(error.reason, FailureReason::ProviderTimeout, "{}", error.message);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn bad_gateway_and_gateway_timeout_are_retried_too() {
    let (result, out, server) =
        play(vec![status(502, "bad gateway"), status(504, "timeout"), Behaviour::reply(&["ok"])]).await;
    result.unwrap();
    assert_eq!((out.text().as_str(), server.requests().len()), ("ok", 3));
}

#[tokio::test]
async fn a_reasoning_model_thinking_past_the_first_token_deadline_is_not_timed_out() {
    let server = ModelServer::start().await;
    let thinking = |text: &str| {
        Step::Data(serde_json::json!({"choices": [{"index": 0, "delta": {"reasoning_content": text}}]}).to_string())
    };
    let mut steps = Vec::new();
    for _ in 0..6 {
        steps.extend([thinking("hmm "), Step::Sleep(Duration::from_millis(300))]);
    }
    steps.extend([data(content_chunk("answer")), data(finish_chunk("stop")), done()]);
    server.push(stream(steps));
    let mut settings = settings(&server);
    settings.request_timeout = Duration::from_secs(1);
    settings.idle_timeout = Duration::from_secs(1);
    let (result, out) = run(&executor(settings)).await;
    result.unwrap();
    assert_eq!(out.text(), "answer", "the reasoning is not part of the reply");
}

#[tokio::test]
async fn an_endless_line_is_provider_protocol_error_not_an_endless_buffer() {
    let endless = Step::Raw(format!("data: {}", "x".repeat(1_100_000)));
    let (error, _, _) = failure(vec![stream(vec![data(content_chunk("a")), endless, Step::Hang])]).await;
    assert_eq!(error.reason, FailureReason::ProviderProtocolError);
    assert!(error.message.contains("without completing an event"), "{}", error.message);
}

#[tokio::test]
async fn an_https_profile_talking_to_a_plain_http_server_fails_once_without_retries() {
    // A plain HTTP server that answers whatever arrives, as a misconfigured port would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut hello = [0u8; 1024];
            let _ = socket.read(&mut hello).await;
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        }
    });
    let server = ModelServer::start().await;
    let mut settings = settings(&server);
    settings.base_url = format!("https://{addr}/v1");
    settings.max_retries = 3;
    let started = tokio::time::Instant::now();
    let error = run(&executor(settings)).await.0.unwrap_err();
    assert_eq!(error.reason, FailureReason::ProviderUnavailable);
    assert!(error.message.contains("TLS"), "{}", error.message);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1, "a handshake failure is not retried");
    assert!(started.elapsed() < Duration::from_secs(3));
}
