use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request as HttpRequest, StatusCode};
use axum::routing::post;
use runtime_api::ErrorEnvelope;
use tower::{Layer, ServiceExt};

use super::*;
use crate::{ApiJson, OptionalJson};

#[derive(serde::Deserialize, Default)]
struct Sample {
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

fn app(timeout: Duration) -> Router {
    Router::new()
        .route("/required", post(|ApiJson(_): ApiJson<Sample>| async { "ok" }))
        .route("/optional", post(|OptionalJson(_): OptionalJson<Sample>| async { "ok" }))
        .layer(RequestLimitsLayer::new(1024, timeout))
}

async fn answer(app: &Router, request: HttpRequest<Body>) -> (StatusCode, Option<ErrorCode>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice::<ErrorEnvelope>(&bytes).ok().map(|e| e.error.code))
}

/// A body whose bytes never come.
fn never() -> Body {
    Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>())
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_read() {
    let app = app(Duration::from_secs(3600));
    let request = HttpRequest::post("/required")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "100000000")
        .body(never())
        .unwrap();
    // The body never arrives, so an answer at all means nothing waited for it.
    let answered = tokio::time::timeout(Duration::from_secs(5), answer(&app, request)).await;
    assert_eq!(answered.expect("answered at once"), (StatusCode::PAYLOAD_TOO_LARGE, Some(ErrorCode::PayloadTooLarge)));

    let request = HttpRequest::post("/required")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "1024")
        .body(Body::from(format!("{{\"reason\":\"{}\"}}", "x".repeat(1010))))
        .unwrap();
    assert_eq!(answer(&app, request).await, (StatusCode::OK, None), "exactly the limit is fine");
}

#[tokio::test(start_paused = true)]
async fn a_body_that_does_not_arrive_in_time_is_a_typed_408() {
    let app = app(Duration::from_secs(30));
    for path in ["/required", "/optional"] {
        let request = HttpRequest::post(path).header(header::CONTENT_TYPE, "application/json").body(never()).unwrap();
        let (status, code) = answer(&app, request).await;
        assert_eq!((status, code), (StatusCode::REQUEST_TIMEOUT, Some(ErrorCode::RequestTimeout)), "{path}");
        assert!(ErrorCode::RequestTimeout.retryable());
    }
}

#[tokio::test]
async fn two_host_headers_are_refused() {
    let app = app(Duration::from_secs(30));
    let mut request = HttpRequest::post("/optional").body(Body::empty()).unwrap();
    request.headers_mut().append(header::HOST, HeaderValue::from_static("localhost"));
    request.headers_mut().append(header::HOST, HeaderValue::from_static("rebound.example"));
    assert_eq!(answer(&app, request).await, (StatusCode::BAD_REQUEST, Some(ErrorCode::InvalidRequest)));

    let mut request = HttpRequest::post("/optional").body(Body::empty()).unwrap();
    request.headers_mut().append(header::HOST, HeaderValue::from_static("localhost"));
    assert_eq!(answer(&app, request).await, (StatusCode::OK, None));
}

#[tokio::test]
async fn a_body_that_comes_whole_passes_untouched() {
    let service =
        RequestLimitsLayer::new(16, Duration::from_secs(1)).layer(tower::service_fn(|request: Request| async {
            let bytes = axum::body::to_bytes(request.into_body(), usize::MAX).await.unwrap();
            Ok::<_, Infallible>(Response::new(Body::from(bytes)))
        }));
    let response = service.oneshot(HttpRequest::post("/").body(Body::from("hello")).unwrap()).await.unwrap();
    assert_eq!(axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap(), "hello");
}
