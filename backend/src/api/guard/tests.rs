use axum::Router;
use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use axum::routing::{get, post};
use tower::ServiceExt;

use super::*;

fn server(extra_hosts: &[&str]) -> ServerConfig {
    ServerConfig {
        bind: loopback(),
        allowed_hosts: extra_hosts.iter().map(|h| (*h).to_owned()).collect(),
        allowed_origins: vec!["https://ui.example".to_owned()],
        access_token_ref: None,
        auth: crate::config::AuthMode::Token,
        request_timeout: std::time::Duration::from_secs(60),
        body_limit_bytes: 1 << 16,
        max_event_streams: 16,
        max_event_streams_per_client: 4,
        request_head_timeout: std::time::Duration::from_secs(30),
        request_body_timeout: std::time::Duration::from_secs(30),
        max_connections: 64,
    }
}

/// A token read the way the backend reads it: through a secret reference.
fn token(value: &str) -> (Secret, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, value).unwrap();
    (crate::config::SecretRef::File(path).resolve().unwrap(), dir)
}

fn app(guard: Guard) -> Router {
    Router::new()
        .route("/r", get(|| async { "ok" }).post(|| async { "ok" }))
        .route("/w", post(|| async { "ok" }))
        .layer(guard)
}

async fn status(app: &Router, method: &str, host: Option<&str>, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = HttpRequest::builder().method(method).uri("/r");
    if let Some(host) = host {
        request = request.header(header::HOST, host);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
}

fn loopback() -> SocketAddr {
    "127.0.0.1:8780".parse().unwrap()
}

#[tokio::test]
async fn loopback_names_pass_and_rebound_names_do_not() {
    let app = app(Guard::new(loopback(), &server(&[]), None));
    for host in ["127.0.0.1:8780", "localhost:8780", "LOCALHOST:8780", "[::1]:8780"] {
        assert_eq!(status(&app, "GET", Some(host), &[]).await, StatusCode::OK, "{host}");
    }
    for host in ["evil.example:8780", "127.0.0.1:9999", "localhost", "10.0.0.5:8780"] {
        assert_eq!(status(&app, "GET", Some(host), &[]).await, StatusCode::FORBIDDEN, "{host}");
    }
    assert_eq!(status(&app, "GET", None, &[]).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn configured_names_pass_with_or_without_a_port() {
    let app = app(Guard::new(loopback(), &server(&["backend.example", "proxy.example:443"]), None));
    for host in ["backend.example", "backend.example:8780", "proxy.example:443"] {
        assert_eq!(status(&app, "GET", Some(host), &[]).await, StatusCode::OK, "{host}");
    }
    assert_eq!(status(&app, "GET", Some("proxy.example"), &[]).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn state_changes_and_websockets_need_an_allowed_origin() {
    let app = app(Guard::new(loopback(), &server(&[]), None));
    let host = Some("127.0.0.1:8780");
    assert_eq!(status(&app, "POST", host, &[]).await, StatusCode::OK, "no Origin: not a browser");
    assert_eq!(status(&app, "POST", host, &[("origin", "http://127.0.0.1:8780")]).await, StatusCode::OK);
    assert_eq!(status(&app, "POST", host, &[("origin", "https://ui.example")]).await, StatusCode::OK);
    for origin in ["http://evil.example", "null", "http://127.0.0.1:9999"] {
        assert_eq!(status(&app, "POST", host, &[("origin", origin)]).await, StatusCode::FORBIDDEN, "{origin}");
    }
    let upgrade = [("upgrade", "websocket"), ("origin", "http://evil.example")];
    assert_eq!(status(&app, "GET", host, &upgrade).await, StatusCode::FORBIDDEN);
    assert_eq!(status(&app, "GET", host, &[("origin", "http://evil.example")]).await, StatusCode::OK, "plain reads");
}

#[tokio::test]
async fn with_a_token_every_request_needs_it_by_header_or_cookie() {
    let (token, _dir) = token("canary-access-token");
    let app = app(Guard::new(loopback(), &server(&[]), Some(token)));
    let host = Some("127.0.0.1:8780");
    assert_eq!(status(&app, "GET", host, &[]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, "GET", host, &[("authorization", "Bearer wrong")]).await, StatusCode::UNAUTHORIZED);
    let bearer = [("authorization", "Bearer canary-access-token")];
    assert_eq!(status(&app, "GET", host, &bearer).await, StatusCode::OK);
    let cookie = [("cookie", "theme=dark; yoi_access_token=canary-access-token")];
    assert_eq!(status(&app, "GET", host, &cookie).await, StatusCode::OK);
}

#[tokio::test]
async fn an_unspecified_bind_accepts_ip_names_on_its_port() {
    let app = app(Guard::new("0.0.0.0:8780".parse().unwrap(), &server(&[]), None));
    assert_eq!(status(&app, "GET", Some("192.168.1.20:8780"), &[]).await, StatusCode::OK);
    assert_eq!(status(&app, "GET", Some("192.168.1.20:81"), &[]).await, StatusCode::FORBIDDEN);
    assert_eq!(status(&app, "GET", Some("attacker.example:8780"), &[]).await, StatusCode::FORBIDDEN);
    let origin = [("origin", "http://192.168.1.20:8780")];
    assert_eq!(status(&app, "POST", Some("192.168.1.20:8780"), &origin).await, StatusCode::OK);
    // Another machine serving on the same port is another site.
    let elsewhere = [("origin", "http://6.6.6.6:8780")];
    assert_eq!(status(&app, "POST", Some("192.168.1.20:8780"), &elsewhere).await, StatusCode::FORBIDDEN);
    let upgrade = [("upgrade", "websocket"), ("origin", "http://6.6.6.6:8780")];
    assert_eq!(status(&app, "GET", Some("192.168.1.20:8780"), &upgrade).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_every_token_cookie_is_tried() {
    let (token, _dir) = token("canary-access-token");
    let app = app(Guard::new(loopback(), &server(&[]), Some(token)));
    let host = Some("127.0.0.1:8780");
    assert_eq!(status(&app, "GET", host, &[("authorization", "bearer canary-access-token")]).await, StatusCode::OK);
    let cookies = [("cookie", "yoi_access_token=old; yoi_access_token=canary-access-token")];
    assert_eq!(status(&app, "GET", host, &cookies).await, StatusCode::OK);
}

#[tokio::test]
async fn the_page_files_and_the_session_pass_without_the_token_and_nothing_else_does() {
    let (token, _dir) = token("canary-access-token");
    let app = Router::new()
        .route("/", get(|| async { "page" }))
        .route("/app.js", get(|| async { "script" }))
        .route(SESSION_PATH, get(|| async { "session" }).post(|| async { "signed in" }))
        .route("/api/runtimes", get(|| async { "data" }))
        .layer(Guard::new(loopback(), &server(&[]), Some(token)));
    let call = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let mut request = HttpRequest::builder().method(method).uri(path).header(header::HOST, "127.0.0.1:8780");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let app = app.clone();
        async move { app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status() }
    };
    for path in ["/", "/app.js", SESSION_PATH] {
        assert_eq!(call("GET", path, &[]).await, StatusCode::OK, "{path}");
    }
    assert_eq!(call("POST", SESSION_PATH, &[]).await, StatusCode::OK);
    for path in ["/api/runtimes", "/api/runtimes/", "/index.html", "/app.js/x", "/api/session/x"] {
        assert_eq!(call("GET", path, &[]).await, StatusCode::UNAUTHORIZED, "{path}");
    }
    // The session still takes no request from another site.
    assert_eq!(call("POST", SESSION_PATH, &[("origin", "https://evil.example")]).await, StatusCode::FORBIDDEN);
    let rebound = HttpRequest::builder().uri("/").header(header::HOST, "rebound.example").body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(rebound).await.unwrap().status(), StatusCode::FORBIDDEN, "the page checks Host too");
}

#[tokio::test]
async fn a_cookie_carries_the_token_percent_encoded() {
    let (token, _dir) = token("tok en;=%");
    let app = app(Guard::new(loopback(), &server(&[]), Some(token)));
    let host = Some("127.0.0.1:8780");
    let encoded = [("cookie", "yoi_access_token=tok%20en%3B%3D%25")];
    assert_eq!(status(&app, "GET", host, &encoded).await, StatusCode::OK);
    let raw_prefix = [("cookie", "yoi_access_token=tok")];
    assert_eq!(status(&app, "GET", host, &raw_prefix).await, StatusCode::UNAUTHORIZED);
}
