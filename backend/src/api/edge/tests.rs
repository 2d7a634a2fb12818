use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use tower::{Layer, ServiceExt};

use super::*;

/// The edge around a router with a quick route, a slow one under a 50 ms backstop, and a route without one.
fn app(metrics: Arc<Metrics>) -> Edge<Router> {
    let bounded = Router::new()
        .route("/quick/{id}", get(|| async { "quick" }))
        .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }))
        .route_layer(RouteScopeLayer::bounded(Duration::from_millis(50)));
    let unbounded = Router::new()
        .route("/write", get(|| async { tokio::time::sleep(Duration::from_millis(100)).await }))
        .route_layer(RouteScopeLayer::unbounded());
    EdgeLayer::new(metrics).layer(bounded.merge(unbounded))
}

async fn send(app: &Edge<Router>, request: Request<Body>) -> Response {
    app.clone().oneshot(request).await.unwrap()
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn every_answer_gets_a_fresh_id_and_the_security_headers() {
    let app = app(Arc::new(Metrics::new()));
    let mut ids = Vec::new();
    for path in ["/quick/1", "/quick/2", "/nowhere"] {
        let response = send(&app, get_request(path)).await;
        let headers = response.headers();
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path}");
        let id = headers[&REQUEST_ID].to_str().unwrap().to_owned();
        let (prefix, counter) = id.split_once('-').expect("prefix-counter");
        assert_eq!((prefix.len(), counter.len()), (8, 12), "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'), "{id}");
        ids.push(id);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "ids sort by arrival");
    sorted.dedup();
    assert_eq!(sorted.len(), 3, "ids are unique");
}

#[tokio::test]
async fn a_clients_own_id_is_kept_when_it_is_short_visible_ascii() {
    let app = app(Arc::new(Metrics::new()));
    let with = |id: &str| Request::get("/quick/1").header(&REQUEST_ID, id).body(Body::empty()).unwrap();
    let kept = send(&app, with("trace-42")).await;
    assert_eq!(kept.headers()[&REQUEST_ID], "trace-42");
    for unfit in ["x".repeat(65), "two words".to_owned()] {
        let replaced = send(&app, with(&unfit)).await;
        let id = replaced.headers()[&REQUEST_ID].to_str().unwrap().to_owned();
        assert_ne!(id, unfit);
        assert_eq!(id.len(), 21, "a generated id instead of {unfit:?}");
    }
}

#[tokio::test]
async fn the_backstop_answers_runtime_timeout_and_only_where_it_is_set() {
    let metrics = Arc::new(Metrics::new());
    let app = app(metrics.clone());
    let slow = send(&app, get_request("/slow")).await;
    assert_eq!(slow.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(slow.headers().contains_key(&REQUEST_ID), "a timed-out answer has its id too");
    let body = axum::body::to_bytes(slow.into_body(), usize::MAX).await.unwrap();
    let envelope: runtime_api::ErrorEnvelope = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope.error.code, ErrorCode::RuntimeTimeout);
    // 100 ms is beyond the bounded routes' 50 ms, but this route has no backstop.
    assert_eq!(send(&app, get_request("/write")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status() {
    let metrics = Arc::new(Metrics::new());
    let app = app(metrics.clone());
    for path in ["/quick/1", "/quick/2", "/slow", "/nowhere"] {
        send(&app, get_request(path)).await;
    }
    let text = metrics.encode();
    for series in [
        r#"yoi_backend_http_requests_total{method="GET",route="/quick/{id}",status="200"} 2"#,
        r#"yoi_backend_http_requests_total{method="GET",route="/slow",status="504"} 1"#,
        r#"yoi_backend_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
    ] {
        assert!(text.contains(series), "{series} in\n{text}");
    }
}
