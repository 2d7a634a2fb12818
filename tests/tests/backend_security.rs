//! SPEC §10 over real sockets: Host and Origin checks, the access token, and the loopback-only default.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use tests::harness::{backend_refuses_to_start, binary, serve_backend};

async fn status(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused_over_a_real_socket() {
    let served = serve_backend(|builder| builder).await;
    let http = reqwest::Client::new();
    let runtimes = format!("{}/api/runtimes", served.base);
    let workers = format!("{}/api/runtimes/backend-internal/workers", served.base);
    assert_eq!(status(http.get(&runtimes)).await, StatusCode::OK);
    assert_eq!(status(http.get(&runtimes).header("host", "rebound.example")).await, StatusCode::FORBIDDEN);
    let evil = http.post(&workers).header("origin", "http://evil.example");
    assert_eq!(status(evil).await, StatusCode::FORBIDDEN);
    let same = http.post(&workers).header("origin", served.base.as_str());
    assert_eq!(status(same).await, StatusCode::CREATED);

    let ws = format!("{}/api/runtimes/backend-internal/events", served.base.replacen("http", "ws", 1));
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws.as_str()).unwrap();
    request.headers_mut().insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 403),
        other => panic!("a cross-origin WebSocket must be refused, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn with_an_access_token_nothing_passes_without_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".yoi/secrets")).unwrap();
    std::fs::write(dir.path().join(".yoi/secrets/access"), "canary-access\n").unwrap();
    std::fs::write(
        dir.path().join(".yoi/workspace-backend.toml"),
        "[server]\naccess_token_ref = \"file:.yoi/secrets/access\"\n",
    )
    .unwrap();
    let cli = backend::config::CliOverrides { bind: Some("127.0.0.1:0".parse().unwrap()), ..Default::default() };
    let config = backend::config::load(dir.path(), &cli).unwrap();
    let listening = backend::Backend::builder(config).build().await.unwrap().bind().await.unwrap();
    let base = format!("http://{}", listening.local_addr());
    tokio::spawn(listening.serve(std::future::pending()));
    let http = reqwest::Client::new();
    let url = format!("{base}/api/runtimes");
    assert_eq!(status(http.get(&url)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(http.get(&url).bearer_auth("wrong")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(http.get(&url).bearer_auth("canary-access")).await, StatusCode::OK);
    assert_eq!(status(http.get(format!("{base}/healthz"))).await, StatusCode::UNAUTHORIZED);
    let body = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(!body.contains("canary-access"));
}

#[test]
fn a_non_loopback_bind_without_a_token_refuses_to_start() {
    let stderr = backend_refuses_to_start(&["--bind", "0.0.0.0:0"]);
    assert!(stderr.contains("server.access_token_ref"), "{stderr}");
}

#[test]
fn the_binary_serves_on_defaults_and_stops_gracefully_on_sigterm() {
    let workspace = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary("workspace-backend"))
        .args(["--bind", "127.0.0.1:0", "--workspace"])
        .arg(workspace.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let base = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("listening line, got {line:?}"));
    // By default the backend asks for the token it generated, which its sign-in link carries.
    let sign_in = lines.next().unwrap().unwrap();
    let token = sign_in.rsplit_once("?token=").unwrap_or_else(|| panic!("sign-in line, got {sign_in:?}")).1;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = runtime.block_on(async {
        let answer = reqwest::Client::new().get(format!("{base}/api/runtimes")).bearer_auth(token).send().await;
        answer.unwrap().text().await.unwrap()
    });
    assert!(body.contains("\"runtime_id\":\"backend-internal\""), "{body}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exited with {status}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
