//! The settings API (SPEC §8) against a real `worker-runtime`: adding registers at once and writes the file
//! with the operator's comments intact, deleting unregisters and closes streams, tests report what they
//! observe, and every misuse gets its typed error naming the field.

use futures::StreamExt;
use runtime_api::{CloseReason, ErrorCode, ErrorEnvelope, RuntimeSource, StreamFrame};
use serde_json::{Value, json};
use tests::browser::BrowserClient;
use tests::harness::{RuntimeProcess, ServedBackend, serve_backend};

const CONNECTIONS: &str = "/api/settings/runtime-connections";
const TOKEN: &str = "settings-canary-token-4b1d";
const COMMENT: &str = "# my own note: keep me";

/// A runtime that wants `TOKEN`, and a backend whose workspace holds the token file and a commented local file.
async fn setup() -> (RuntimeProcess, ServedBackend) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let runtime = RuntimeProcess::start(["--runtime-id", "dev", "--token-file", token_file.to_str().unwrap()]);
    std::mem::forget(dir); // the runtime reads the file at start only; the OS cleans /tmp
    let served = serve_backend(|b| b).await;
    let yoi = served.workspace().join(".yoi");
    std::fs::create_dir_all(yoi.join("secrets")).unwrap();
    std::fs::write(yoi.join("secrets/dev"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(yoi.join("workspace-backend.local.toml"), format!("{COMMENT}\n[server]\n# bind stays default\n"))
        .unwrap();
    (runtime, served)
}

fn local_file(served: &ServedBackend) -> String {
    std::fs::read_to_string(served.workspace().join(".yoi/workspace-backend.local.toml")).unwrap()
}

/// Status and JSON body of a call; every body is checked for the token.
async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(!text.contains(TOKEN), "the token leaked: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn dev(runtime: &RuntimeProcess) -> Value {
    json!({"id": "dev", "endpoint": runtime.base, "display_name": "Dev runtime", "token_ref": "file:.yoi/secrets/dev"})
}

fn code(body: &Value) -> (Option<ErrorCode>, Option<String>) {
    let error = serde_json::from_value::<ErrorEnvelope>(body.clone()).ok().map(|e| e.error);
    (error.as_ref().map(|e| e.code), error.and_then(|e| e.field))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_connection_is_served_at_once_and_a_deleted_one_is_gone() {
    let (runtime, served) = setup().await;
    let base = &served.base;
    let (status, added) = call(reqwest::Method::POST, format!("{base}{CONNECTIONS}"), Some(dev(&runtime))).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["restart_required"], false);
    let connection = &added["connection"];
    // The answer does not wait on the network: the new runtime is served, its first probe under way or done.
    assert_eq!(connection["active"].as_bool(), Some(true));
    let first = connection["health"]["status"].as_str();
    assert!(matches!(first, Some("unknown" | "ready")), "{connection}");
    assert_eq!(connection["token_ref"], "file:.yoi/secrets/dev");
    let text = local_file(&served);
    assert!(text.starts_with(&format!("{COMMENT}\n[server]\n# bind stays default\n")), "{text}");
    assert!(text.contains("[[runtimes.remote]]\nid = \"dev\"\n"), "{text}");
    assert!(!text.contains(TOKEN), "only the reference is written");

    // Workers on it work through the Browser API, without a restart.
    let client = BrowserClient::connect(base, "dev").await;
    client.create(Default::default()).await.expect("a worker is created on the new connection");
    let mut stream = client.subscribe(Default::default()).await.unwrap();
    assert!(matches!(stream.next().await, Some(StreamFrame::Snapshot(_))));

    let (status, listed) = call(reqwest::Method::GET, format!("{base}{CONNECTIONS}"), None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = listed["connections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["backend-internal", "dev"]);
    assert_eq!(listed["connections"][0]["builtin"], true);
    assert_eq!(listed["connections"][0]["deletable"], false);
    assert_eq!(listed["connections"][1]["defined_in"], "local");
    assert_eq!(listed["connections"][1]["compatible"], true, "the listing shows what the probe found");
    assert_eq!(listed["connections"][1]["health"]["status"], "ready");

    let (status, removed) = call(reqwest::Method::DELETE, format!("{base}{CONNECTIONS}/dev"), None).await;
    assert_eq!((status, &removed["restart_required"]), (200, &json!(false)), "{removed}");
    let last = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut last = None;
        while let Some(frame) = stream.next().await {
            last = Some(frame);
        }
        last
    })
    .await
    .expect("the stream ends");
    assert!(
        matches!(last, Some(StreamFrame::Closed { reason: CloseReason::SourceRemoved, .. })),
        "closed with a typed reason: {last:?}"
    );
    let (status, _) = call(reqwest::Method::GET, format!("{base}/api/runtimes/dev"), None).await;
    assert_eq!(status, 404);
    assert_eq!(local_file(&served), format!("{COMMENT}\n[server]\n# bind stays default\n"), "back as it was");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_misuse_gets_its_code_and_names_the_field() {
    let (runtime, served) = setup().await;
    let url = format!("{}{CONNECTIONS}", served.base);
    let post = |body: Value| call(reqwest::Method::POST, url.clone(), Some(body));
    assert_eq!(post(dev(&runtime)).await.0, 201);

    let mut body = dev(&runtime);
    let cases: Vec<(Value, u16, ErrorCode, Option<&str>)> = vec![
        (body.clone(), 409, ErrorCode::DuplicateConnection, Some("id")),
        (
            json!({"id": "backend-internal", "endpoint": runtime.base, "display_name": "x"}),
            409,
            ErrorCode::DuplicateConnection,
            Some("id"),
        ),
        (
            json!({"id": "Bad Id", "endpoint": runtime.base, "display_name": "x"}),
            400,
            ErrorCode::InvalidRequest,
            Some("id"),
        ),
        (
            json!({"id": "b", "endpoint": "ftp://h", "display_name": "x"}),
            400,
            ErrorCode::InvalidRequest,
            Some("endpoint"),
        ),
        (
            json!({"id": "b", "endpoint": "http://u:p@h", "display_name": "x"}),
            400,
            ErrorCode::InvalidRequest,
            Some("endpoint"),
        ),
        (
            json!({"id": "b", "endpoint": "http://h/?q", "display_name": "x"}),
            400,
            ErrorCode::InvalidRequest,
            Some("endpoint"),
        ),
        (
            json!({"id": "b", "endpoint": "http://h", "display_name": "a\u{1}"}),
            400,
            ErrorCode::InvalidRequest,
            Some("display_name"),
        ),
        (
            json!({"id": "b", "endpoint": "http://h", "display_name": "x", "token_ref": "env:HOME"}),
            400,
            ErrorCode::InvalidRequest,
            Some("token_ref"),
        ),
        (
            json!({"id": "b", "endpoint": "http://h", "display_name": "x", "token_ref": "file:/etc/passwd"}),
            400,
            ErrorCode::InvalidRequest,
            Some("token_ref"),
        ),
        (json!({"id": "b", "endpoint": "http://h"}), 400, ErrorCode::InvalidRequest, Some("display_name")),
        (
            json!({"id": "b", "endpoint": "http://h", "display_name": "x", "token": "raw"}),
            400,
            ErrorCode::InvalidRequest,
            Some("token"),
        ),
    ];
    for (request, status, expected, field) in cases {
        let (got, answer) = post(request.clone()).await;
        assert_eq!((got, code(&answer)), (status, (Some(expected), field.map(str::to_owned))), "{request}");
    }
    let delete = |id: &str| call(reqwest::Method::DELETE, format!("{url}/{id}"), None);
    assert_eq!(code(&delete("backend-internal").await.1).0, Some(ErrorCode::ConnectionBuiltin));
    assert_eq!(delete("nope").await.0, 404);
    let (status, answer) = call(reqwest::Method::POST, format!("{url}/nope/test"), None).await;
    assert_eq!((status, code(&answer).0), (404, Some(ErrorCode::ConnectionNotFound)));

    // A file that does not parse is reported and left exactly as it is.
    let path = served.workspace().join(".yoi/workspace-backend.local.toml");
    let broken = format!("{}\n[server\n", local_file(&served));
    std::fs::write(&path, &broken).unwrap();
    (body["id"], body["token_ref"]) = (json!("other"), json!("file:.yoi/secrets/other"));
    let (status, answer) = post(body).await;
    assert_eq!((status, code(&answer).0), (422, Some(ErrorCode::ConfigInvalid)), "{answer}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    assert!(!answer.to_string().contains(&served.workspace().display().to_string()), "no absolute path: {answer}");
    assert_eq!(delete("dev").await.0, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_all_land() {
    let (runtime, served) = setup().await;
    let adds = (0..8).map(|n| {
        let body = json!({"id": format!("rt-{n}"), "endpoint": runtime.base, "display_name": format!("Runtime {n}")});
        call(reqwest::Method::POST, format!("{}{CONNECTIONS}", served.base), Some(body))
    });
    for (status, body) in futures::future::join_all(adds).await {
        assert_eq!(status, 201, "{body}");
    }
    let text = local_file(&served);
    assert_eq!(text.matches("[[runtimes.remote]]").count(), 8, "no update lost:\n{text}");
    assert!(text.starts_with(COMMENT));
    for n in 0..8 {
        assert!(served.registry.get(&runtime_api::RuntimeId::parse(format!("rt-{n}")).unwrap()).is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_report_what_they_observe_and_write_nothing() {
    let (runtime, served) = setup().await;
    let url = format!("{}{CONNECTIONS}", served.base);
    let before = local_file(&served);
    let test = |body: Value| call(reqwest::Method::POST, format!("{url}/test"), Some(body));

    let (status, report) = test(dev(&runtime)).await;
    assert_eq!(status, 200);
    assert_eq!(report["compatible"], true, "{report}");
    assert!(report["operations"].as_array().unwrap().iter().all(|v| v["supported"] == true), "{report}");
    assert_eq!(report["observed"]["protocol"]["name"], runtime_api::runtime::PROTOCOL_NAME);

    let dead = dead_endpoint();
    let (_, report) = test(json!({"id": "dead", "endpoint": dead, "display_name": "Dead"})).await;
    assert_eq!((report["compatible"].as_bool(), diagnostic(&report)), (Some(false), "runtime_unavailable".into()));

    let secrets = served.workspace().join(".yoi/secrets");
    let mut wrong_token = dev(&runtime);
    (wrong_token["id"], wrong_token["token_ref"]) = (json!("wrong"), json!("file:.yoi/secrets/wrong"));
    std::fs::write(secrets.join("wrong"), "not-the-token").unwrap();
    let (_, report) = test(wrong_token).await;
    assert_eq!(diagnostic(&report), "runtime_auth_failed", "{report}");

    let mut unset = dev(&runtime);
    (unset["id"], unset["token_ref"]) = (json!("surely-unset"), json!("env:YOI_RUNTIME_TOKEN_SURELY_UNSET"));
    let (_, report) = test(unset).await;
    assert_eq!(diagnostic(&report), "runtime_auth_failed", "fails closed: {report}");

    let mut other_id = dev(&runtime);
    (other_id["id"], other_id["token_ref"]) = (json!("prod"), json!("file:.yoi/secrets/prod"));
    std::fs::write(secrets.join("prod"), TOKEN).unwrap();
    let (_, report) = test(other_id).await;
    assert_eq!((report["compatible"].as_bool(), diagnostic(&report)), (Some(true), "id_mismatch".into()));

    let not_a_runtime = not_a_runtime().await;
    let (_, report) = test(json!({"id": "web", "endpoint": not_a_runtime, "display_name": "Web"})).await;
    assert_eq!(diagnostic(&report), "runtime_protocol_error", "{report}");
    assert!(report["observed"].is_null());

    assert_eq!(call(reqwest::Method::POST, url.clone(), Some(dev(&runtime))).await.0, 201);
    let (status, report) = call(reqwest::Method::POST, format!("{url}/dev/test"), None).await;
    assert_eq!((status, &report["compatible"]), (200, &json!(true)), "{report}");
    let after = local_file(&served);
    assert!(after.starts_with(&before) && !after.contains("compatible"), "nothing from a test is written:\n{after}");
}

fn diagnostic(report: &Value) -> String {
    report["diagnostics"][0]["code"].as_str().unwrap_or_default().to_owned()
}

/// A loopback endpoint nothing listens on.
fn dead_endpoint() -> String {
    format!("http://{}", tests::harness::NOTHING_LISTENS)
}

/// A web server that answers every request with a page, as a mistyped endpoint might.
async fn not_a_runtime() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let page = "<html>hello</html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_with_a_policy_that_forbids_inline_scripts() {
    let served = serve_backend(|b| b).await;
    let response = reqwest::get(format!("{}/", served.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
    let script = reqwest::get(format!("{}/app.js", served.base)).await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_are_listed_as_warnings_and_an_add_keeps_them() {
    let (runtime, served) = setup().await;
    let file = served.workspace().join(".yoi/workspace-backend.local.toml");
    let text = format!("{COMMENT}\n[custom_section]\nowner = \"another tool\"\n\n[server]\nbnd = \"typo\"\n");
    std::fs::write(&file, &text).unwrap();
    let url = format!("{}{CONNECTIONS}", served.base);

    let (status, listing) = call(reqwest::Method::GET, url.clone(), None).await;
    assert_eq!(status, 200, "{listing}");
    let warnings: Vec<&str> = listing["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(
        warnings,
        [
            ".yoi/workspace-backend.local.toml:2: custom_section: unknown key `custom_section`, ignored",
            ".yoi/workspace-backend.local.toml:6: server.bnd: unknown key `bnd`, ignored; did you mean `bind`?",
        ]
    );

    let (status, added) = call(reqwest::Method::POST, url, Some(dev(&runtime))).await;
    assert_eq!(status, 201, "{added}");
    let after = local_file(&served);
    assert!(after.starts_with(&text), "the unknown keys and everything else are kept:\n{after}");
    assert!(after.contains("[[runtimes.remote]]\nid = \"dev\""), "{after}");
}

/// A listener that records every request head it is sent and answers 404: where a hostile caller would
/// like the backend to deliver a runtime's token.
async fn eavesdropper() -> (String, std::sync::Arc<parking_lot::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let heard = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let record = heard.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let n = socket.read(&mut request).await.unwrap_or(0);
                record.lock().push(String::from_utf8_lossy(&request[..n]).into_owned());
                let answer = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), heard)
}

/// Issue 14, hole 1: a saved connection's token reference cannot be aimed at another endpoint, by a
/// candidate test or an add, under the connection's own id or another one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_reference_is_only_ever_sent_to_the_endpoint_it_was_saved_with() {
    let (runtime, served) = setup().await;
    let url = format!("{}{CONNECTIONS}", served.base);
    assert_eq!(call(reqwest::Method::POST, url.clone(), Some(dev(&runtime))).await.0, 201);
    let before = local_file(&served);
    let (elsewhere, heard) = eavesdropper().await;

    for (id, token_ref) in
        [("dev", "file:.yoi/secrets/dev"), ("evil", "file:.yoi/secrets/dev"), ("evil", "env:YOI_RUNTIME_TOKEN_DEV")]
    {
        let draft = json!({"id": id, "endpoint": elsewhere, "display_name": "Evil", "token_ref": token_ref});
        for route in [format!("{url}/test"), url.clone()] {
            let (status, body) = call(reqwest::Method::POST, route.clone(), Some(draft.clone())).await;
            // Adding a second `dev` is refused before its token reference is looked at.
            let expected = if id == "dev" && route == url {
                (409, Some(ErrorCode::DuplicateConnection), "id")
            } else {
                (403, Some(ErrorCode::Forbidden), "token_ref")
            };
            let (code, field) = code(&body);
            assert_eq!((status, code, field.as_deref().unwrap_or("")), expected, "{route} {draft}: {body}");
        }
    }
    assert_eq!(local_file(&served), before, "nothing refused was written");
    assert!(heard.lock().is_empty(), "the backend called the other endpoint: {:?}", heard.lock());

    // The saved connection itself still tests with its token.
    let (status, report) = call(reqwest::Method::POST, format!("{url}/test"), Some(dev(&runtime))).await;
    assert_eq!((status, &report["compatible"]), (200, &json!(true)), "{report}");
}

/// A loopback service that answers every request with `status` and the body `answer` makes of the
/// `Authorization` header it was sent: an untrusted remote echoing what it has seen.
async fn echoing(status: u16, answer: fn(&str) -> String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..n]).into_owned();
                let heard = head
                    .lines()
                    .find_map(|line| line.strip_prefix("authorization: ").or(line.strip_prefix("Authorization: ")))
                    .unwrap_or("")
                    .to_owned();
                let body = answer(&heard);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn summary_echoing(heard: &str, name: &str, version: &str) -> String {
    // A control character inside the token: a report that drops control characters after scrubbing would
    // put the token back together.
    let (head, tail) = heard.split_at(heard.len().saturating_sub(4));
    json!({
        "runtime_id": "echo", "display_name": format!("echo {head}\u{7}{tail}"), "status": "ready",
        "workers": {"total": 0, "idle": 0, "busy": 0, "stopped": 0, "failed": 0},
        "capabilities": {"read": true, "create": true, "input": true, "lifecycle": true, "transcript": true,
            "events": true, "when_busy": ["reject"], "profiles": [{"name": "default", "executor": "echo"}]},
        "protocol": {"name": name, "version": version, "features": ["workers.read", format!("x {heard}")]},
        "log_id": format!("log {heard}"), "last_event_seq": 0
    })
    .to_string()
}

/// Issue 14, holes 3 and 9: whatever a remote sends back — its name, protocol, a foreign service's error
/// text — reaches the test report scrubbed, and a service that is not a runtime is called so, without its
/// words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_report_shows_nothing_a_remote_echoes_and_no_foreign_service_text() {
    let (_runtime, served) = setup().await;
    let url = format!("{}{CONNECTIONS}/test", served.base);
    let echo_tokens = [
        echoing(200, |heard| summary_echoing(heard, runtime_api::runtime::PROTOCOL_NAME, "1.0")).await,
        echoing(200, |heard| summary_echoing(heard, &format!("other {heard}"), "1.0")).await,
        echoing(200, |heard| summary_echoing(heard, runtime_api::runtime::PROTOCOL_NAME, &format!("9.{heard}"))).await,
        echoing(500, |heard| json!({"error": {"code": "internal", "message": format!("boom {heard}")}}).to_string())
            .await,
    ];
    let secrets = served.workspace().join(".yoi/secrets");
    for (n, endpoint) in echo_tokens.into_iter().enumerate() {
        let id = format!("echo-{n}");
        std::fs::write(secrets.join(&id), TOKEN).unwrap();
        let draft = json!({"id": id, "endpoint": endpoint, "display_name": "Echo",
            "token_ref": format!("file:.yoi/secrets/{id}")});
        // `call` fails the test if the token is anywhere in the answer.
        let (status, report) = call(reqwest::Method::POST, url.clone(), Some(draft)).await;
        assert_eq!(status, 200, "{report}");
    }

    let foreign = echoing(409, |_| {
        json!({"error": {"code": "worker_busy", "message": "FOREIGN-TEXT from some other service"}}).to_string()
    })
    .await;
    let draft = json!({"id": "web", "endpoint": foreign, "display_name": "Web"});
    let (status, report) = call(reqwest::Method::POST, url, Some(draft)).await;
    assert_eq!(status, 200, "{report}");
    assert!(!report.to_string().contains("FOREIGN-TEXT"), "a foreign service's words are not shown: {report}");
    assert_eq!((report["compatible"].as_bool(), diagnostic(&report)), (Some(false), "runtime_protocol_error".into()));
    assert!(!report["basis"].as_str().unwrap().contains("did not answer"), "it did answer: {report}");
}

/// Issue 14, hole 8: what the settings API writes is bounded and normalized; NUL bytes, endless ports and
/// paths that normalize away are refused, naming the field, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_fields_are_bounded_and_endpoints_written_normalized() {
    let (runtime, served) = setup().await;
    let url = format!("{}{CONNECTIONS}", served.base);
    let before = local_file(&served);
    let port = runtime.addr().port();
    let long_port = format!("http://127.0.0.1:{}{port}", "0".repeat(10_000));
    let bad: [(&str, Value); 5] = [
        ("token_ref", json!("file:.yoi/secrets/dev\u{0}")),
        ("endpoint", json!(long_port)),
        ("endpoint", json!(format!("http://127.0.0.1:{port}/%2e%2e/"))),
        ("endpoint", json!(format!("http://127.0.0.1:{port}/."))),
        ("token_ref", json!(format!("file:.yoi/secrets/{}", "d".repeat(2_000)))),
    ];
    for (field, value) in bad {
        let mut draft = dev(&runtime);
        draft[field] = value;
        let (status, body) = call(reqwest::Method::POST, url.clone(), Some(draft)).await;
        assert_eq!((status, code(&body)), (400, (Some(ErrorCode::InvalidRequest), Some(field.to_owned()))), "{body}");
    }
    assert_eq!(local_file(&served), before, "nothing refused was written");

    let mut draft = dev(&runtime);
    draft["endpoint"] = json!(format!("HTTP://127.0.0.1:0{port}/"));
    assert_eq!(call(reqwest::Method::POST, url, Some(draft)).await.0, 201);
    assert!(
        local_file(&served).contains(&format!("endpoint = \"http://127.0.0.1:{port}\"\n")),
        "{}",
        local_file(&served)
    );
}

/// Issue 10: the page's Reload does what SIGHUP does — a hand edit is applied, a file that does not load
/// changes nothing — and a form learns every bad field from one submit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_hand_edits_and_validation_names_every_bad_field() {
    let (runtime, served) = setup().await;
    let reload = format!("{}/api/settings/reload", served.base);
    let path = served.workspace().join(".yoi/workspace-backend.local.toml");
    let edited =
        format!("{}\n[[runtimes.remote]]\nid = \"by-hand\"\nendpoint = \"{}\"\n", local_file(&served), runtime.base);
    std::fs::write(&path, &edited).unwrap();
    let (status, report) = call(reqwest::Method::POST, reload.clone(), None).await;
    assert_eq!(
        (status, &report["added"], &report["restart_required"]),
        (200, &json!(["by-hand"]), &json!(false)),
        "{report}"
    );
    let (_, runtimes) = call(reqwest::Method::GET, format!("{}/api/runtimes", served.base), None).await;
    assert!(runtimes.to_string().contains("by-hand"), "served at once: {runtimes}");

    std::fs::write(&path, format!("{edited}\n[server\n")).unwrap();
    let (status, body) = call(reqwest::Method::POST, reload, None).await;
    assert_eq!((status, code(&body).0), (422, Some(ErrorCode::ConfigInvalid)), "{body}");
    let (_, runtimes) = call(reqwest::Method::GET, format!("{}/api/runtimes", served.base), None).await;
    assert!(runtimes.to_string().contains("by-hand"), "a file that does not load changes nothing: {runtimes}");
    std::fs::write(&path, &edited).unwrap();

    let draft = json!({"id": "Bad!", "endpoint": "ftp://x", "display_name": "", "token_ref": "env:HOME"});
    let (status, body) = call(reqwest::Method::POST, format!("{}{CONNECTIONS}", served.base), Some(draft)).await;
    assert_eq!((status, code(&body)), (400, (Some(ErrorCode::InvalidRequest), Some("id".to_owned()))), "{body}");
    let fields: Vec<&str> =
        body["error"]["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["id", "display_name", "endpoint", "token_ref"], "{body}");
}
