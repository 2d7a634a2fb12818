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
    body["id"] = json!("other");
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

    let mut wrong_token = dev(&runtime);
    wrong_token["token_ref"] = json!("file:.yoi/secrets/wrong");
    std::fs::write(served.workspace().join(".yoi/secrets/wrong"), "not-the-token").unwrap();
    let (_, report) = test(wrong_token).await;
    assert_eq!(diagnostic(&report), "runtime_auth_failed", "{report}");

    let mut unset = dev(&runtime);
    unset["token_ref"] = json!("env:YOI_RUNTIME_TOKEN_SURELY_UNSET");
    let (_, report) = test(unset).await;
    assert_eq!(diagnostic(&report), "runtime_auth_failed", "fails closed: {report}");

    let mut other_id = dev(&runtime);
    other_id["id"] = json!("prod");
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
