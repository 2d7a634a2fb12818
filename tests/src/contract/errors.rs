//! Typed errors for unknown ids and bad requests.

use runtime_api::{
    CreateWorkerRequest, ErrorCode, InputRequest, LifecycleRequest, SubscribeRequest, TranscriptQuery, WorkerId, limits,
};

use super::support::{Source, expect_error, new_worker};

pub(crate) async fn unknown_worker_ids_answer_worker_not_found(source: Source) {
    let missing = WorkerId::parse("w-00000000000000000000000000").expect("id");
    let errors = [
        expect_error(source.get(&missing), ErrorCode::WorkerNotFound).await,
        expect_error(source.input(&missing, InputRequest::user("hi")), ErrorCode::WorkerNotFound).await,
        expect_error(source.stop(&missing, LifecycleRequest::default()), ErrorCode::WorkerNotFound).await,
        expect_error(source.cancel(&missing, LifecycleRequest::default()), ErrorCode::WorkerNotFound).await,
        expect_error(source.transcript(&missing, TranscriptQuery::default()), ErrorCode::WorkerNotFound).await,
    ];
    for error in errors {
        assert_eq!(error.worker_id.as_ref(), Some(&missing), "{error}");
        assert_eq!(error.code.http_status(), 404);
    }
    let request = SubscribeRequest { after: None, worker_id: Some(missing.clone()) };
    match source.subscribe(request).await {
        Err(error) => assert_eq!(error.code, ErrorCode::WorkerNotFound),
        Ok(_) => panic!("subscribing to an unknown worker must fail"),
    }
}

pub(crate) async fn invalid_requests_answer_invalid_request(source: Source) {
    let worker = new_worker(&source, "fast").await;
    let too_long = "x".repeat(limits::MAX_INPUT_BYTES + 1);
    for content in ["", "   ", too_long.as_str(), "bell\u{7}"] {
        expect_error(source.input(&worker, InputRequest::user(content)), ErrorCode::InvalidRequest).await;
    }
    let title = CreateWorkerRequest { title: Some("t".repeat(limits::MAX_TITLE_CHARS + 1)), ..Default::default() };
    expect_error(source.create(title), ErrorCode::InvalidRequest).await;
    let reason = LifecycleRequest { reason: Some("line\nbreak".into()) };
    expect_error(source.stop(&worker, reason), ErrorCode::InvalidRequest).await;
    let detail = source.get(&worker).await.expect("get");
    assert_eq!(detail.summary.transcript_len, 0, "refused requests leave no trace");
    assert_eq!(detail.summary.state, runtime_api::WorkerState::Idle);
}
