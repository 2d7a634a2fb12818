use axum::body::Body;
use axum::http::{Request, StatusCode};
use runtime_api::{ErrorCode, ErrorEnvelope, RuntimeId};
use tower::ServiceExt;

use super::*;
use crate::{MemoryStore, ProfileSet, RuntimeConfig};

async fn app(token: Option<&str>) -> Router {
    let config = RuntimeConfig::new(RuntimeId::parse("r1").unwrap(), "R1");
    let runtime = Runtime::start(config, ProfileSet::builtin(), std::sync::Arc::new(MemoryStore::new())).await.unwrap();
    router(runtime, token.and_then(BearerToken::new))
}

async fn send(app: &Router, method: &str, uri: &str, auth: Option<&str>, body: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri).header("host", "localhost:8790");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_owned())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn code(body: &str) -> ErrorCode {
    serde_json::from_str::<ErrorEnvelope>(body).unwrap().error.code
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_unauthorized_everywhere_under_v1() {
    let app = app(Some("s3cret")).await;
    for uri in ["/v1/runtime", "/v1/workers", "/v1/nothing"] {
        let (status, body) = send(&app, "GET", uri, None, None).await;
        assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized), "{uri}");
        let (status, _) = send(&app, "GET", uri, Some("Bearer s3cre"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        let (status, _) = send(&app, "GET", uri, Some("Basic s3cret"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let (status, _) = send(&app, "GET", "/v1/runtime", Some("Bearer s3cret"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&app, "GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "liveness needs no token");
}

#[tokio::test]
async fn routes_translate_to_the_runtime_and_errors_keep_the_shape() {
    let app = app(None).await;
    let (status, body) = send(&app, "GET", "/v1/runtime", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let summary: runtime_api::RuntimeSummary = serde_json::from_str(&body).unwrap();
    assert!(summary.protocol.is_compatible() && summary.protocol.has(runtime_api::runtime::feature::EVENTS));

    let (status, body) = send(&app, "POST", "/v1/workers", None, Some(r#"{"title":"t"}"#)).await;
    assert_eq!(status, StatusCode::CREATED);
    let detail: runtime_api::WorkerDetail = serde_json::from_str(&body).unwrap();
    let worker = detail.summary.worker_id;
    let (status, _) =
        send(&app, "POST", &format!("/v1/workers/{worker}/input"), None, Some(r#"{"content":"hi"}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) =
        send(&app, "POST", &format!("/v1/workers/{worker}/input"), None, Some(r#"{"content":"again"}"#)).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, ErrorCode::WorkerBusy));
    let (status, _) = send(&app, "POST", &format!("/v1/workers/{worker}/stop"), None, None).await;
    assert_eq!(status, StatusCode::OK);

    let cases = [
        ("GET", "/v1/workers/bad.id".to_owned(), None, StatusCode::BAD_REQUEST),
        ("GET", "/v1/workers/w-none".to_owned(), None, StatusCode::NOT_FOUND),
        ("GET", "/v1/workers?limit=x".to_owned(), None, StatusCode::BAD_REQUEST),
        ("POST", format!("/v1/workers/{worker}/input"), Some("{"), StatusCode::BAD_REQUEST),
        ("POST", format!("/v1/workers/{worker}/input"), Some(r#"{"content":"x"}"#), StatusCode::CONFLICT),
        ("DELETE", "/v1/runtime".to_owned(), None, StatusCode::METHOD_NOT_ALLOWED),
        ("GET", "/v1/events?after=99999".to_owned(), None, StatusCode::BAD_REQUEST),
    ];
    for (method, uri, body, expected) in cases {
        let (status, text) = send(&app, method, &uri, None, body).await;
        assert_eq!(status, expected, "{method} {uri}: {text}");
        serde_json::from_str::<ErrorEnvelope>(&text).unwrap_or_else(|e| panic!("{method} {uri}: {e}: {text}"));
    }
    let big = format!(r#"{{"content":"{}"}}"#, "x".repeat(BODY_LIMIT_BYTES));
    let (status, body) = send(&app, "POST", &format!("/v1/workers/{worker}/input"), None, Some(&big)).await;
    assert_eq!((status, code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge));
}
