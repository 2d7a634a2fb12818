//! Signing in (SPEC §10): a generated access token by default, exchanged once for an HttpOnly, SameSite=Strict
//! cookie; the page's files and `/api/session` answer without it; wrong tokens are refused and then
//! rate-limited; `--no-auth` on loopback only. Against the in-process backend and the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, ORIGIN, RETRY_AFTER, SET_COOKIE};
use serde_json::{Value, json};
use tests::harness::{LoggedProcess, ServedBackend, backend_refuses_to_start, binary, serve_backend_with};

async fn served_with_generated_token() -> (ServedBackend, String) {
    let served = serve_backend_with("", |b| b.generate_access_token()).await;
    let token = std::fs::read_to_string(served.workspace().join(".yoi/access-token")).unwrap();
    (served, token.trim_end().to_owned())
}

async fn session(http: &reqwest::Client, base: &str, headers: HeaderMap) -> Value {
    let answer = http.get(format!("{base}/api/session")).headers(headers).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json().await.unwrap()
}

/// Signs in at `base` with `token`, as a page served from `origin` does.
async fn sign_in(http: &reqwest::Client, base: &str, origin: &str, token: &str) -> reqwest::Response {
    let request = http.post(format!("{base}/api/session")).header(ORIGIN, origin).json(&json!({"token": token}));
    request.send().await.unwrap()
}

/// The `name=value` part of a `Set-Cookie` answer, and its attributes in lowercase.
fn set_cookie(answer: &reqwest::Response) -> (String, Vec<String>) {
    let header = answer.headers().get(SET_COOKIE).expect("a Set-Cookie header").to_str().unwrap();
    let mut parts = header.split(';').map(str::trim);
    let pair = parts.next().unwrap().to_owned();
    (pair, parts.map(str::to_ascii_lowercase).collect())
}

fn cookie_header(pair: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, pair.parse().unwrap());
    headers
}

#[tokio::test]
async fn without_the_token_only_the_page_and_the_session_answer() {
    let (served, token) = served_with_generated_token().await;
    let base = &served.base;
    let http = reqwest::Client::new();
    for path in ["/api/runtimes", "/api/workers", "/api/settings/runtime-connections", "/healthz"] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body = answer.text().await.unwrap();
        assert!(!body.contains(&token), "{path}: {body}");
    }
    for path in ["/", "/app.js", "/api.js", "/style.css"] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        assert!(!answer.text().await.unwrap().contains(&token), "{path}");
    }
    assert_eq!(session(&http, base, HeaderMap::new()).await, json!({"auth": "token", "signed_in": false}));
    let mut bearer = HeaderMap::new();
    bearer.insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_eq!(session(&http, base, bearer.clone()).await, json!({"auth": "token", "signed_in": true}));
    let answer = http.get(format!("{base}/api/runtimes")).headers(bearer).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_token_becomes_a_strict_http_only_cookie_and_signing_out_clears_it() {
    let (served, token) = served_with_generated_token().await;
    let base = &served.base;
    let http = reqwest::Client::new();
    let answer = sign_in(&http, base, base, &token).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let (pair, attributes) = set_cookie(&answer);
    assert_eq!(pair, format!("yoi_access_token={token}"));
    for wanted in ["httponly", "samesite=strict", "path=/"] {
        assert!(attributes.iter().any(|a| a == wanted), "{wanted} missing from {attributes:?}");
    }
    assert!(!attributes.iter().any(|a| a == "secure"), "plain http cannot keep a Secure cookie: {attributes:?}");
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({"auth": "token", "signed_in": true}));

    let signed_in = cookie_header(&pair);
    let answer = http.get(format!("{base}/api/runtimes")).headers(signed_in.clone()).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(session(&http, base, signed_in.clone()).await["signed_in"], true);

    let answer =
        http.delete(format!("{base}/api/session")).header(ORIGIN, base).headers(signed_in).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let (pair, attributes) = set_cookie(&answer);
    assert_eq!(pair, "yoi_access_token=");
    assert!(attributes.iter().any(|a| a == "max-age=0"), "{attributes:?}");
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({"auth": "token", "signed_in": false}));
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_another_site_cannot_sign_in() {
    let (served, token) = served_with_generated_token().await;
    let base = &served.base;
    let http = reqwest::Client::new();
    let https = base.replacen("http://", "https://", 1);
    let answer = sign_in(&http, base, &https, &token).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(set_cookie(&answer).1.iter().any(|a| a == "secure"));

    let answer = sign_in(&http, base, "http://evil.example", &token).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(answer.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn wrong_tokens_are_refused_by_field_and_then_the_client_waits() {
    let (served, token) = served_with_generated_token().await;
    let base = &served.base;
    let http = reqwest::Client::new();
    for attempt in 0..5 {
        let answer = sign_in(&http, base, base, "not-the-token").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert!(answer.headers().get(SET_COOKIE).is_none());
        let body: Value = answer.json().await.unwrap();
        assert_eq!(
            (body["error"]["code"].as_str(), body["error"]["field"].as_str()),
            (Some("unauthorized"), Some("token"))
        );
    }
    // Even the right token waits now: otherwise the limit would not hold back a guesser.
    let answer = sign_in(&http, base, base, &token).await;
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = answer.headers().get(RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
    // Scripts with the token are not held back.
    let answer = http.get(format!("{base}/api/runtimes")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);

    assert_eq!(sign_in(&http, base, base, "").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_configured_token_outside_cookie_characters_still_signs_in() {
    let workspace_token = "tok en;=\u{e9}%";
    // Kept outside the test workspace, which the harness creates as it starts the backend.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".yoi/secrets")).unwrap();
    std::fs::write(dir.path().join(".yoi/secrets/backend"), workspace_token).unwrap();
    let toml = format!("[server]\naccess_token_ref = \"file:{}\"\n", dir.path().join(".yoi/secrets/backend").display());
    let served = serve_backend_with(&toml, |b| b).await;
    let base = &served.base;
    let http = reqwest::Client::new();
    let answer = sign_in(&http, base, base, workspace_token).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let (pair, _) = set_cookie(&answer);
    assert!(!pair.contains(' ') && !pair[17..].contains(';'), "{pair}");
    let answer = http.get(format!("{base}/api/runtimes")).headers(cookie_header(&pair)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_authentication_there_is_nothing_to_sign_in_to() {
    let served = serve_backend_with("[server]\nauth = \"none\"\n", |b| b.generate_access_token()).await;
    let base = &served.base;
    let http = reqwest::Client::new();
    assert_eq!(session(&http, base, HeaderMap::new()).await, json!({"auth": "none", "signed_in": true}));
    assert_eq!(http.get(format!("{base}/api/runtimes")).send().await.unwrap().status(), StatusCode::OK);
    let answer = sign_in(&http, base, base, "anything").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers().get(SET_COOKIE).is_none(), "nothing to keep without authentication");
    // The body is still held to its schema.
    assert_eq!(sign_in(&http, base, base, "").await.status(), StatusCode::BAD_REQUEST);
    assert!(!served.workspace().join(".yoi/access-token").exists(), "no token is generated without authentication");
}

/// A `workspace-backend` process and the lines it printed on standard output before serving.
struct Started {
    child: Child,
    base: String,
    sign_in: String,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(workspace: &std::path::Path, extra: &[&str]) -> Started {
    let mut child = Command::new(binary("workspace-backend"))
        .args(["--bind", "127.0.0.1:0", "--log", "warn", "--workspace"])
        .arg(workspace)
        .args(extra)
        .env_remove("YOI_BACKEND_NO_AUTH")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    let base = listening.strip_prefix("listening on ").unwrap_or_else(|| panic!("{listening:?}")).to_owned();
    let sign_in = lines.next().unwrap().unwrap();
    Started { child, base, sign_in }
}

#[test]
fn the_binary_prints_a_sign_in_link_whose_token_is_kept_private_and_reused() {
    let workspace = tempfile::tempdir().unwrap();
    let first = start(workspace.path(), &[]);
    let link = first.sign_in.strip_prefix("sign in at ").unwrap_or_else(|| panic!("{:?}", first.sign_in));
    let token = link.strip_prefix(&format!("{}/?token=", first.base)).unwrap_or_else(|| panic!("{link}")).to_owned();
    let token = token.as_str();
    let kept = workspace.path().join(".yoi/access-token");
    assert_eq!(std::fs::read_to_string(&kept).unwrap().trim_end(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = |base: &str, token: Option<&str>| {
        runtime.block_on(async {
            let request = reqwest::Client::new().get(format!("{base}/api/runtimes"));
            let request = if let Some(token) = token { request.bearer_auth(token) } else { request };
            request.send().await.unwrap().status()
        })
    };
    assert_eq!(status(&first.base, None), StatusCode::UNAUTHORIZED);
    assert_eq!(status(&first.base, Some(token)), StatusCode::OK);
    drop(first);

    let second = start(workspace.path(), &[]);
    assert_eq!(second.sign_in, format!("sign in at {}/?token={token}", second.base), "the token is reused");
    assert_eq!(status(&second.base, Some(token)), StatusCode::OK);
}

#[test]
fn no_auth_is_for_loopback_only() {
    let workspace = tempfile::tempdir().unwrap();
    let open = start(workspace.path(), &["--no-auth"]);
    assert_eq!(open.sign_in, format!("open {}/ (no sign-in: --no-auth)", open.base));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status =
        runtime.block_on(async { reqwest::get(format!("{}/api/runtimes", open.base)).await.unwrap().status() });
    assert_eq!(status, StatusCode::OK);
    assert!(!workspace.path().join(".yoi/access-token").exists());

    let stderr = backend_refuses_to_start(&["--bind", "0.0.0.0:0", "--no-auth"]);
    assert!(stderr.contains("server.auth: \"none\" is allowed with a loopback bind only"), "{stderr}");
}

#[tokio::test]
async fn the_generated_token_never_reaches_the_log() {
    let workspace = tempfile::tempdir().unwrap();
    let args = [std::ffi::OsString::from("--log"), "trace".into(), "--workspace".into(), workspace.path().into()];
    let backend = LoggedProcess::start("workspace-backend", args, |command| {
        command.env_remove("YOI_BACKEND_NO_AUTH");
    });
    let token = std::fs::read_to_string(workspace.path().join(".yoi/access-token")).unwrap().trim_end().to_owned();
    let base = backend.base.clone();
    let http = reqwest::Client::new();
    // Everywhere a token travels: the sign-in link, the sign-in request, the cookie, a bearer header, a wrong
    // token beside the right one.
    assert_eq!(http.get(format!("{base}/?token={token}")).send().await.unwrap().status(), StatusCode::OK);
    let answer = sign_in(&http, &base, &base, &token).await;
    let (pair, _) = set_cookie(&answer);
    let answer = http.get(format!("{base}/api/runtimes")).headers(cookie_header(&pair)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = http.get(format!("{base}/api/workers")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let wrong = format!("{token}-almost");
    assert_eq!(sign_in(&http, &base, &base, &wrong).await.status(), StatusCode::UNAUTHORIZED);
    let logs = backend.stop();
    assert!(logs.contains("workspace backend started"), "the log was read: {logs}");
    assert!(!logs.contains(&token), "the access token is in the log:\n{logs}");
}
