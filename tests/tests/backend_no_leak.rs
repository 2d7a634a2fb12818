//! No registered secret ever reaches a Browser: not in a body, a header, a WebSocket frame, `/metrics` or a
//! log line — whether the source succeeds with secrets planted in its text or fails with them in its errors.

use std::io::Write;
use std::sync::{Arc, Mutex};

use backend::stack::Sanitizer;
use backend::stack::sanitize::SecretKind;
use futures::StreamExt;
use reqwest::Method;
use runtime_api::{ApiError, ErrorCode, RuntimeId};
use tests::harness::serve_backend;
use tests::mock::{Answer, MockSource};

const ENDPOINT: &str = "http://10.77.66.55:9911";
const HOST_PORT: &str = "10.77.66.55:9911";
const TOKEN: &str = "tok_canary_5f1e0c";
const TOKEN_REF: &str = "env:CANARY_TOKEN_REF";
const DATA_DIR: &str = "/srv/canary-store/data";
/// Never registered: only the heuristics can catch these, and only in text a runtime wrote about itself.
const LOOSE_PATH: &str = "/var/lib/unregistered/canary";
const LOOSE_URL: &str = "https://internal.example/canary";

/// Collects every log line the backend writes.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sanitizer(owner: &str) -> Sanitizer {
    let owner = RuntimeId::parse(owner).unwrap();
    Sanitizer::new()
        .endpoint(&owner, &url::Url::parse(ENDPOINT).unwrap())
        .secret(SecretKind::Token, &owner, TOKEN)
        .secret(SecretKind::TokenRef, &owner, TOKEN_REF)
        .secret(SecretKind::Path, &owner, DATA_DIR)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_reaches_a_browser_or_a_log() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).init();

    let planted = format!("{ENDPOINT}/v1 {HOST_PORT} {TOKEN} {TOKEN_REF} {DATA_DIR} {LOOSE_PATH} {LOOSE_URL}");
    let failure = ApiError::new(ErrorCode::RuntimeUnavailable, format!("cannot reach: {planted}"));
    // An internal error's detail is logged, never answered: the log line must be scrubbed as well.
    let broken = ApiError::new(ErrorCode::Internal, format!("store failed: {planted}"));
    let served = serve_backend(|builder| {
        builder
            .source_with_secrets(
                Arc::new(MockSource::new("leaky", Answer::Succeed { planted: planted.clone() })),
                sanitizer("leaky"),
            )
            .source_with_secrets(Arc::new(MockSource::new("failing", Answer::Fail(failure))), sanitizer("failing"))
            .source_with_secrets(Arc::new(MockSource::new("broken", Answer::Fail(broken))), sanitizer("broken"))
    })
    .await;

    let mut seen = String::new();
    let http = reqwest::Client::new();
    for runtime in ["leaky", "failing", "broken"] {
        let base = format!("{}/api/runtimes/{runtime}", served.base);
        let calls: &[(Method, String, Option<&str>)] = &[
            (Method::GET, base.clone(), None),
            (Method::GET, format!("{base}/workers"), None),
            (Method::POST, format!("{base}/workers"), Some("{}")),
            (Method::GET, format!("{base}/workers/w-mock"), None),
            (Method::POST, format!("{base}/workers/w-mock/input"), Some(r#"{"content":"hi"}"#)),
            (Method::POST, format!("{base}/workers/w-mock/stop"), Some("{}")),
            (Method::POST, format!("{base}/workers/w-mock/cancel"), Some("{}")),
            (Method::GET, format!("{base}/workers/w-mock/transcript"), None),
            (Method::GET, format!("{base}/profiles"), None),
        ];
        for (method, url, body) in calls {
            let mut request = http.request(method.clone(), url);
            if let Some(body) = body {
                request = request.header("content-type", "application/json").body(*body);
            }
            let response = request.send().await.unwrap();
            for (name, value) in response.headers() {
                seen.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("")));
            }
            seen.push_str(&response.text().await.unwrap());
            seen.push('\n');
        }
        let ws = format!("{}/events", base.replacen("http", "ws", 1));
        match tokio_tungstenite::connect_async(ws).await {
            Ok((socket, response)) => {
                seen.push_str(&format!("{:?}\n", response.headers()));
                let frames: Vec<_> = socket.collect().await;
                for frame in frames.into_iter().flatten() {
                    seen.push_str(&frame.to_string());
                    seen.push('\n');
                }
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                seen.push_str(&String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()));
            }
            Err(other) => panic!("{runtime}: {other}"),
        }
    }
    for path in ["/api/runtimes", "/api/workers", "/metrics", "/api/openapi.json", "/healthz", "/readyz"] {
        seen.push_str(&http.get(format!("{}{path}", served.base)).send().await.unwrap().text().await.unwrap());
    }
    drop(served);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();

    for (place, text) in [("responses", &seen), ("logs", &logged)] {
        for canary in [ENDPOINT, HOST_PORT, TOKEN, TOKEN_REF, DATA_DIR] {
            assert!(!text.contains(canary), "{canary} leaked into {place}");
        }
    }
    // Not vacuous: the planted text did come back, scrubbed, through every kind of answer.
    for placeholder in ["<endpoint of leaky>", "<token of leaky>", "<token reference of leaky>", "<path of leaky>"] {
        assert!(seen.contains(placeholder), "{placeholder} missing: the mock's text never came back");
    }
    assert!(seen.contains("<endpoint of failing>"), "errors came back scrubbed");
    assert!(seen.contains("described <endpoint of leaky>"), "profiles came back scrubbed");
    assert!(seen.contains("model <endpoint of leaky>"), "reply facts came back scrubbed");
    assert!(logged.contains("source call failed"), "the failing runtime was logged (scrubbed)");
    assert!(logged.contains("store failed: <endpoint of broken>"), "the internal detail was logged, scrubbed");
    assert!(seen.contains("stopped because <endpoint of leaky>"), "event reasons came back scrubbed");
    // Runtime-written text loses unregistered locations too; user content keeps them.
    assert!(seen.contains("cannot reach: <endpoint of failing>/v1"), "{seen}");
    assert!(seen.contains("failed: <endpoint of leaky>/v1"), "turn failure scrubbed");
    for diagnostic in
        ["cannot reach:", "turn 1 failed:", "gone:", "ended because", "cancelled because", "stopped because"]
    {
        for line in seen.split(diagnostic).skip(1) {
            let text = line.split('"').next().unwrap_or_default();
            assert!(!text.contains(LOOSE_PATH) && !text.contains(LOOSE_URL), "{diagnostic}{text}");
        }
    }
    assert!(
        seen.contains("user says <endpoint of leaky>/v1 <endpoint of leaky> <token of leaky>"),
        "user content keeps its meaning"
    );
}
