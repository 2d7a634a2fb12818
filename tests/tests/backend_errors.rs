//! Every error a source can answer reaches the Browser with its SPEC §5 status and the one JSON shape, and a
//! source that answers as if it were down is failed fast once its health monitor has noticed.

use std::sync::Arc;

use backend::api::views::{AllWorkersPage, RuntimeView};
use backend::health::HealthState;
use reqwest::{Method, StatusCode};
use runtime_api::{ApiError, ErrorCode, ErrorEnvelope, RuntimeStatus};
use tests::harness::serve_backend;
use tests::mock::{Answer, MockSource};

/// Every route that calls a source, as (method, path under the runtime, JSON body).
const ROUTES: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/workers", None),
    ("POST", "/workers", Some("{}")),
    ("GET", "/workers/w-1", None),
    ("POST", "/workers/w-1/input", Some(r#"{"content":"hi"}"#)),
    ("POST", "/workers/w-1/stop", Some("{}")),
    ("POST", "/workers/w-1/cancel", Some("{}")),
    ("GET", "/workers/w-1/transcript", None),
];

fn mock_id(code: ErrorCode) -> String {
    format!("mock-{}", code.as_str())
}

#[tokio::test]
async fn every_error_code_reaches_the_browser_with_its_status_and_shape() {
    let served = serve_backend(|mut builder| {
        for &code in ErrorCode::ALL {
            let error = ApiError::new(code, format!("mock answers {code}"));
            builder = builder.source(Arc::new(MockSource::new(&mock_id(code), Answer::Fail(error))));
        }
        builder.without_embedded()
    })
    .await;
    let http = reqwest::Client::new();
    // Waits for every runtime's first health probe, so each circuit is as its probe left it.
    http.get(format!("{}/api/runtimes", served.base)).send().await.unwrap();
    for &code in ErrorCode::ALL {
        let runtime = mock_id(code);
        // A source whose every answer says it is down (as its probe found) is not called again until a
        // probe answers: its calls fail at once, naming what the probe met and when to come back.
        let known_down =
            matches!(code, ErrorCode::RuntimeUnavailable | ErrorCode::RuntimeTimeout | ErrorCode::RuntimeProtocolError);
        let (code_seen, message) = if known_down {
            (ErrorCode::RuntimeUnavailable, "is unavailable (the backend checks it again within".to_owned())
        } else if code == ErrorCode::Internal {
            (code, "internal error".to_owned())
        } else {
            (code, format!("mock answers {code}"))
        };
        for (method, path, body) in ROUTES {
            let url = format!("{}/api/runtimes/{runtime}{path}", served.base);
            let mut request = http.request(Method::from_bytes(method.as_bytes()).unwrap(), url);
            if let Some(body) = body {
                request = request.header("content-type", "application/json").body(*body);
            }
            let response = request.send().await.unwrap();
            let context = format!("{code} on {method} {path}");
            assert_eq!(response.status().as_u16(), code_seen.http_status(), "{context}");
            assert_eq!(response.headers().contains_key("retry-after"), known_down, "{context}");
            let raw: serde_json::Value = response.json().await.unwrap();
            assert_eq!(raw["error"]["retryable"], code_seen.retryable(), "{context}");
            let envelope: ErrorEnvelope = serde_json::from_value(raw).unwrap();
            let error = envelope.error;
            assert_eq!(error.code, code_seen, "{context}");
            assert_eq!(error.runtime_id.as_ref().map(|r| r.as_str()), Some(runtime.as_str()), "{context}");
            if known_down {
                assert!(error.message.contains(&message), "{context}: {}", error.message);
                assert!(error.message.ends_with(&format!("mock answers {code}")), "{context}: {}", error.message);
            } else {
                assert_eq!(error.message, message, "{context}");
            }
        }
        // Opening an event stream fails before the upgrade, with the same status.
        let url = format!("{}/api/runtimes/{runtime}/events", served.base.replacen("http", "ws", 1));
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), code_seen.http_status(), "{code} on events");
                let envelope: ErrorEnvelope = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
                assert_eq!(envelope.error.code, code_seen);
            }
            other => panic!("{code}: expected an HTTP error, got {:?}", other.map(|_| ())),
        }
    }
}

#[tokio::test]
async fn a_failing_runtime_is_listed_with_a_diagnostic_and_does_not_fail_the_others() {
    let down = ApiError::new(ErrorCode::RuntimeUnavailable, "connection refused");
    let served = serve_backend(|builder| {
        builder
            .source(Arc::new(MockSource::new("down", Answer::Fail(down))))
            .source(Arc::new(MockSource::new("up", Answer::Succeed { planted: "fine".into() })))
    })
    .await;
    let http = reqwest::Client::new();
    let views: Vec<RuntimeView> =
        http.get(format!("{}/api/runtimes", served.base)).send().await.unwrap().json().await.unwrap();
    let ids: Vec<_> = views.iter().map(|v| v.runtime_id.as_str()).collect();
    assert_eq!(ids, ["backend-internal", "down", "up"]);
    let down = &views[1];
    assert_eq!(down.status, RuntimeStatus::Unavailable);
    let health = down.health.as_ref().expect("a callable runtime has a health record");
    assert_eq!(health.status, HealthState::Unavailable);
    let last = health.last_error.as_ref().expect("the probe's failure is shown");
    assert_eq!((last.code, last.message.as_str()), (ErrorCode::RuntimeUnavailable, "connection refused"));
    assert_eq!(views[2].status, RuntimeStatus::Ready);
    assert_eq!(views[2].health.as_ref().map(|h| h.status), Some(HealthState::Ready));

    let response = http.get(format!("{}/api/workers", served.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let all: AllWorkersPage = response.json().await.unwrap();
    assert_eq!(all.workers.len(), 1, "the healthy mock's worker is listed");
    assert_eq!(all.diagnostics.len(), 1);
    assert_eq!(all.diagnostics[0].runtime_id.as_str(), "down");
    assert_eq!(all.diagnostics[0].error.code, ErrorCode::RuntimeUnavailable);
    assert!(all.diagnostics[0].error.message.ends_with("connection refused"), "{:?}", all.diagnostics[0]);
}

#[tokio::test]
async fn bad_requests_get_typed_errors_before_reaching_a_runtime() {
    let served = serve_backend(|builder| builder).await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/runtimes/backend-internal", served.base);
    let big = format!(r#"{{"content":"{}"}}"#, "x".repeat(300 * 1024));
    let cases: Vec<(Method, String, Option<String>, ErrorCode)> = vec![
        (Method::GET, format!("{}/api/runtimes/NOT_VALID", served.base), None, ErrorCode::InvalidRequest),
        (Method::GET, format!("{}/api/runtimes/nope/workers", served.base), None, ErrorCode::RuntimeNotFound),
        (Method::GET, format!("{base}/workers/bad.id"), None, ErrorCode::InvalidRequest),
        (Method::GET, format!("{base}/workers?limit=lots"), None, ErrorCode::InvalidRequest),
        (Method::GET, format!("{base}/workers?colour=red"), None, ErrorCode::InvalidRequest),
        (Method::POST, format!("{base}/workers"), Some("{\"profile\": 7}".into()), ErrorCode::InvalidRequest),
        (Method::POST, format!("{base}/workers"), Some("{\"profile\": \"nope\"}".into()), ErrorCode::ProfileNotFound),
        (Method::POST, format!("{base}/workers/w-1/input"), Some("{".into()), ErrorCode::InvalidRequest),
        (
            Method::POST,
            format!("{base}/workers/w-1/input"),
            Some(r#"{"content":""}"#.into()),
            ErrorCode::InvalidRequest,
        ),
        (Method::POST, format!("{base}/workers/w-1/input"), Some(big), ErrorCode::PayloadTooLarge),
        (
            Method::POST,
            format!("{base}/workers/w-1/input"),
            Some(r#"{"content":"hi"}"#.into()),
            ErrorCode::WorkerNotFound,
        ),
        (Method::DELETE, base.clone(), None, ErrorCode::MethodNotAllowed),
        (Method::GET, format!("{}/api/nothing-here", served.base), None, ErrorCode::InvalidRequest),
    ];
    for (method, url, body, code) in cases {
        let mut request = http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let envelope: ErrorEnvelope = response.json().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        assert_eq!((envelope.error.code, status), (code, code.http_status()), "{method} {url}");
    }
}

#[tokio::test]
async fn malformed_paths_get_the_error_shape_too() {
    let served = serve_backend(|builder| builder).await;
    for path in ["/api/runtimes/%FF", "/api/runtimes/backend-internal/workers/%FF", "/api/runtimes/%FF/events"] {
        let response = reqwest::get(format!("{}{path}", served.base)).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let envelope: ErrorEnvelope = response.json().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(envelope.error.code, ErrorCode::InvalidRequest);
    }
}

#[tokio::test]
async fn a_hung_runtime_is_reported_in_views_of_every_runtime_without_holding_them() {
    let served = serve_backend(|builder| builder.source(Arc::new(MockSource::new("hung", Answer::Hang)))).await;
    let http = reqwest::Client::new();
    let views: Vec<RuntimeView> =
        http.get(format!("{}/api/runtimes", served.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(views[0].status, RuntimeStatus::Ready, "the embedded runtime answers");
    assert_eq!(views[1].status, RuntimeStatus::Unavailable);
    assert!(views[1].diagnostics.notes.iter().any(|n| n.contains("did not answer")), "{:?}", views[1].diagnostics);

    // Once its probe has timed out, the runtime is known down: views no longer wait for it at all.
    let noticed = async {
        loop {
            let ready: serde_json::Value =
                http.get(format!("{}/readyz", served.base)).send().await.unwrap().json().await.unwrap();
            if ready["runtimes"][1]["status"] == "unavailable" {
                break ready;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let health = tokio::time::timeout(std::time::Duration::from_secs(20), noticed).await.expect("the probe times out");
    assert_eq!(health["runtimes"][1]["runtime_id"], "hung");
    let all: AllWorkersPage =
        http.get(format!("{}/api/workers", served.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(all.diagnostics.len(), 1);
    let error = &all.diagnostics[0].error;
    assert_eq!(error.code, ErrorCode::RuntimeUnavailable);
    assert!(error.message.contains("did not answer within 2s"), "{error:?}");
    assert!(error.retry_after_s.is_some());
}

#[tokio::test]
async fn internal_detail_shows_nowhere_not_even_in_diagnostics() {
    let detail = "panicked at src/store.rs:88: db 10.0.0.5:5432 refused";
    let served = serve_backend(|builder| {
        builder.source(Arc::new(MockSource::new("broken", Answer::Fail(ApiError::new(ErrorCode::Internal, detail)))))
    })
    .await;
    let http = reqwest::Client::new();
    let mut seen = String::new();
    for path in ["/api/workers", "/api/runtimes", "/api/runtimes/broken", "/api/runtimes/broken/workers"] {
        seen.push_str(&http.get(format!("{}{path}", served.base)).send().await.unwrap().text().await.unwrap());
    }
    assert!(seen.contains("internal error"));
    assert!(!seen.contains("10.0.0.5") && !seen.contains("store.rs"), "{seen}");
}
