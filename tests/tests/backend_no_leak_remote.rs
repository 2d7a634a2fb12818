//! With a real remote runtime behind a real backend, the remote's address, its token and the token's
//! reference never reach a Browser — not in a body, a header, a WebSocket frame, `/metrics` — nor a log
//! line of the backend, whether the remote works, refuses or answers garbage.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use tests::fault_proxy::{Fault, FaultProxy};
use tests::harness::{RuntimeProcess, binary, eventually};

const TOKEN: &str = "canary-remote-token-7c1d";
const TOKEN_VAR: &str = "YOI_RUNTIME_TOKEN_CANARY";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remotes_address_and_credentials_never_reach_a_browser_or_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let runtime = RuntimeProcess::start(["--token-file".into(), token_file.into_os_string()]);
    let proxy = FaultProxy::start(runtime.addr()).await;
    let endpoint = format!("http://{}", proxy.addr());
    let host_port = proxy.addr().to_string();

    std::fs::create_dir_all(dir.path().join(".yoi")).unwrap();
    std::fs::write(
        dir.path().join(".yoi/workspace-backend.toml"),
        format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{endpoint}\"\ntoken_ref = \"env:{TOKEN_VAR}\"\n"),
    )
    .unwrap();
    let mut backend = Command::new(binary("workspace-backend"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--no-auth",
            "--log",
            "info,backend=debug,sources=debug,api_http=debug,runtime_core=debug",
        ])
        .arg("--workspace")
        .arg(dir.path())
        .env(TOKEN_VAR, TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(backend.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let stderr = backend.stderr.take().unwrap();
    let logs = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());

    let http = reqwest::Client::new();
    let mut seen = String::new();
    let remote = format!("{base}/api/runtimes/dev");
    let created: serde_json::Value = http.post(format!("{remote}/workers")).send().await.unwrap().json().await.unwrap();
    let worker = created["worker_id"].as_str().unwrap().to_owned();
    seen.push_str(&created.to_string());
    for fault in [Fault::Pass, Fault::Refuse, Fault::Garbage, Fault::Pass] {
        proxy.set(fault).await;
        proxy.cut();
        // Each fault is met by the backend's health monitor too, whose findings every view shows.
        let expected = match fault {
            Fault::Refuse => "runtime_unavailable",
            Fault::Garbage => "runtime_protocol_error",
            _ => "",
        };
        eventually(&format!("the backend noticing {fault:?}"), || async {
            let view: serde_json::Value = http.get(&remote).send().await.ok()?.json().await.ok()?;
            let met = if expected.is_empty() {
                view["health"]["status"] == "ready"
            } else {
                view["health"]["last_error"]["code"] == expected && view["health"]["failed_probes"] != 0
            };
            met.then_some(())
        })
        .await;
        let calls: [(Method, String, Option<&str>); 7] = [
            (Method::GET, "/api/runtimes".into(), None),
            (Method::GET, "/api/runtimes/dev".into(), None),
            (Method::GET, "/api/workers".into(), None),
            (Method::GET, format!("/api/runtimes/dev/workers/{worker}"), None),
            (
                Method::POST,
                format!("/api/runtimes/dev/workers/{worker}/input"),
                Some(r#"{"content":"hi","when_busy":"queue"}"#),
            ),
            (Method::GET, format!("/api/runtimes/dev/workers/{worker}/transcript"), None),
            (Method::GET, "/metrics".into(), None),
        ];
        for (method, path, body) in calls {
            let mut request = http.request(method, format!("{base}{path}"));
            if let Some(body) = body {
                request = request.header("content-type", "application/json").body(body);
            }
            let response = request.send().await.unwrap();
            for (name, value) in response.headers() {
                seen.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("")));
            }
            seen.push_str(&response.text().await.unwrap());
        }
        let ws = format!("{}/events?after=0", remote.replacen("http", "ws", 1));
        match tokio_tungstenite::connect_async(ws).await {
            Ok((socket, _)) => {
                let frames: Vec<_> = socket.take_until(tokio::time::sleep(Duration::from_millis(800))).collect().await;
                for frame in frames.into_iter().flatten() {
                    seen.push_str(&frame.to_string());
                }
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                seen.push_str(&String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()));
            }
            Err(other) => panic!("{other}"),
        }
    }
    Command::new("kill").args(["-TERM", &backend.id().to_string()]).status().unwrap();
    backend.wait().unwrap();
    let logged = logs.join().unwrap();

    assert!(seen.contains("runtime_unavailable") && seen.contains("runtime_protocol_error"), "the faults were met");
    assert!(seen.contains("[echo] hi"), "the remote worked through the backend");
    for (place, text) in [("responses", &seen), ("logs", &logged)] {
        for canary in [host_port.as_str(), endpoint.as_str(), TOKEN, TOKEN_VAR] {
            assert!(!text.contains(canary), "{canary} leaked into {place}");
        }
    }
    assert!(logged.contains("source call failed"), "the failures were logged");
}
