use axum::Router;
use axum::body::Body;
use axum::http::Request as HttpRequest;
use axum::routing::post;
use tower::ServiceExt;

use super::*;

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Sample {
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

fn app() -> Router {
    Router::new()
        .route("/required", post(|ApiJson(_): ApiJson<Sample>| async { "ok" }))
        .route("/optional", post(|OptionalJson(_): OptionalJson<Sample>| async { "ok" }))
}

/// The status and error message of a POST to `path`.
async fn post_to(path: &str, content_type: Option<&str>, body: &'static str) -> (StatusCode, String) {
    let mut request = HttpRequest::post(path);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = app().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let message = serde_json::from_slice::<ErrorEnvelope>(&bytes).map(|e| e.error.message).unwrap_or_default();
    (status, message)
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn a_body_must_be_a_json_object_sent_as_json() {
    for path in ["/required", "/optional"] {
        assert_eq!(post_to(path, JSON, r#"{"reason":"r"}"#).await.0, StatusCode::OK, "{path}");
        assert_eq!(post_to(path, Some("application/json; charset=utf-8"), "{}").await.0, StatusCode::OK);
        assert_eq!(post_to(path, Some("application/merge-patch+json"), "{}").await.0, StatusCode::OK);
        assert_eq!(post_to(path, Some("Application/JSON"), "{}").await.0, StatusCode::OK);
        for body in ["[]", "null", "1", "\"x\"", "{", r#"{"other":1}"#] {
            let (status, message) = post_to(path, JSON, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {message}");
        }
        for content_type in
            ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "json", "application/jsonx"]
        {
            let (status, message) = post_to(path, Some(content_type), "{}").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {content_type}");
            assert!(message.contains(content_type), "{message}");
        }
        let (status, message) = post_to(path, None, "{}").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} without a content type");
        assert!(message.contains("no content type"), "{message}");
    }
}

#[tokio::test]
async fn an_optional_body_may_be_left_out_but_not_sent_as_a_form() {
    assert_eq!(post_to("/optional", None, "").await.0, StatusCode::OK);
    assert_eq!(post_to("/optional", JSON, "").await.0, StatusCode::OK);
    // What a cross-site page can send without a preflight: refused, even empty.
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        assert_eq!(post_to("/optional", Some(content_type), "").await.0, StatusCode::BAD_REQUEST, "{content_type}");
    }
    assert_eq!(post_to("/required", JSON, "").await.0, StatusCode::BAD_REQUEST, "a required body");
    assert_eq!(post_to("/optional", JSON, "\t").await.0, StatusCode::BAD_REQUEST, "whitespace is not JSON");
}
