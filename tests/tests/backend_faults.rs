//! Faults between the backend and a remote runtime, injected by a TCP proxy: each gives its own SPEC §5 code
//! through the Browser API, calls to the embedded runtime go on normally while it lasts, and the remote
//! recovers without restarting the backend — event streams included.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use backend::health::HealthSettings;
use backend::stack::{Deadlines, StackSettings};
use futures::StreamExt;
use reqwest::Method;
use runtime_api::{ErrorCode, ErrorEnvelope, EventBody, InputRequest, RuntimeSource, StreamFrame, WhenBusy};
use tests::browser::BrowserClient;
use tests::fault_proxy::{Fault, FaultProxy};
use tests::harness::{RuntimeProcess, ServedBackend, eventually, serve_backend_with};

fn short_limits(builder: backend::BackendBuilder) -> backend::BackendBuilder {
    let ms = Duration::from_millis;
    builder
        .stack_settings(StackSettings {
            // The remote client's own limits are four fifths of these: 1 s per read, 2 s per command.
            deadlines: Deadlines { read: ms(1_250), command: ms(2_500), subscribe: ms(3_000) },
            max_in_flight: 64,
            // A failing remote is probed again within 300 ms, so recovery is quick to see; a healthy one only
            // when a call fails, so no probe meets a fault before the calls a test makes to see its code.
            health: HealthSettings {
                interval: ms(600_000),
                backoff_first: ms(50),
                backoff_max: ms(300),
                probe_timeout: ms(1_000),
            },
        })
        .stream_reconnect_max(ms(300))
}

async fn backend_via(proxy: SocketAddr, extra: &str) -> ServedBackend {
    let toml = format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"http://{proxy}\"\n{extra}");
    serve_backend_with(&toml, short_limits).await
}

/// Status and code of a Browser API call.
async fn call(http: &reqwest::Client, method: Method, url: &str, body: Option<&str>) -> (u16, Option<ErrorCode>) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let code = response.json::<ErrorEnvelope>().await.ok().map(|e| e.error.code);
    (status, code)
}

/// Calls to the embedded runtime work: a create and an input each get their ack.
async fn embedded_still_works(http: &reqwest::Client, base: &str) {
    let runtime = format!("{base}/api/runtimes/backend-internal");
    let created: serde_json::Value =
        http.post(format!("{runtime}/workers")).send().await.unwrap().json().await.unwrap();
    let worker = created["worker_id"].as_str().expect("the embedded runtime created a worker");
    let (status, _) =
        call(http, Method::POST, &format!("{runtime}/workers/{worker}/input"), Some(r#"{"content":"hi"}"#)).await;
    assert_eq!(status, 202, "the embedded runtime answers while the remote is broken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_has_its_own_code_and_the_others_go_on() {
    let runtime = RuntimeProcess::start(Vec::<String>::new());
    let proxy = FaultProxy::start(runtime.addr()).await;
    let served = backend_via(proxy.addr(), "").await;
    let http = reqwest::Client::new();
    let remote = format!("{}/api/runtimes/dev", served.base);
    let created: serde_json::Value = http.post(format!("{remote}/workers")).send().await.unwrap().json().await.unwrap();
    let worker = created["worker_id"].as_str().unwrap().to_owned();
    let read = format!("{remote}/workers/{worker}");
    let command = format!("{remote}/workers/{worker}/stop");

    let cases = [
        (Fault::Refuse, 503, ErrorCode::RuntimeUnavailable),
        (Fault::Blackhole, 504, ErrorCode::RuntimeTimeout),
        (Fault::Delay(Duration::from_secs(3)), 504, ErrorCode::RuntimeTimeout),
        (Fault::ResetMidResponse(12), 503, ErrorCode::RuntimeUnavailable),
        (Fault::Garbage, 502, ErrorCode::RuntimeProtocolError),
    ];
    // One call per fault at a time: a call that fails as if the remote were down makes the health monitor probe
    // at once, and under an instant fault (Garbage) that probe can open the circuit before a second call in
    // flight is admitted, which would then get the circuit's 503 instead of the fault's own code.
    for (fault, status, code) in cases {
        for (what, method, url) in [("read", Method::GET, &read), ("command", Method::POST, &command)] {
            proxy.set(fault).await;
            // Pooled connections were opened before the fault; drop them so every call meets it.
            proxy.cut();
            let (result, ()) = tokio::join!(call(&http, method, url, None), embedded_still_works(&http, &served.base));
            assert_eq!(result, (status, Some(code)), "{what} under {fault:?}");

            proxy.set(Fault::Pass).await;
            proxy.cut();
            // Until its health monitor finds it answering again, calls fail at once; then they work, with no
            // backend restart.
            eventually(&format!("recovery after {fault:?}"), || async {
                let (status, code) = call(&http, Method::GET, &read, None).await;
                match (status, code) {
                    (200, _) => Some(()),
                    (503, Some(ErrorCode::RuntimeUnavailable)) => None,
                    other => panic!("after {fault:?}: {other:?}"),
                }
            })
            .await;
        }
    }
}

#[tokio::test]
async fn refused_credentials_are_runtime_auth_failed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "the-real-token").unwrap();
    std::fs::write(dir.path().join("wrong"), "not-the-token").unwrap();
    let runtime = RuntimeProcess::start(["--token-file".into(), dir.path().join("token").into_os_string()]);
    let extra = format!("token_ref = \"file:{}\"\n", dir.path().join("wrong").display());
    let toml = format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{}\"\n{extra}", runtime.base);
    let served = serve_backend_with(&toml, short_limits).await;
    let (status, code) =
        call(&reqwest::Client::new(), Method::GET, &format!("{}/api/runtimes/dev/workers", served.base), None).await;
    assert_eq!((status, code), (502, Some(ErrorCode::RuntimeAuthFailed)));
}

#[tokio::test]
async fn another_protocol_version_is_runtime_incompatible() {
    // A server that answers every request with a summary from a future major version.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let body = r#"{"runtime_id":"future","display_name":"Future","status":"ready","workers":{"total":0,"idle":0,"busy":0,"stopped":0,"failed":0},"capabilities":{"read":true,"create":true,"input":true,"lifecycle":true,"transcript":true,"events":true,"when_busy":[],"profiles":[]},"protocol":{"name":"yoi-worker-runtime","version":"2.0","features":[]},"log_id":"x","last_event_seq":0}"#;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let body = body.to_owned();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 {
                        return;
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let served = backend_via(addr, "").await;
    let (status, code) =
        call(&reqwest::Client::new(), Method::GET, &format!("{}/api/runtimes/dev/workers", served.base), None).await;
    assert_eq!((status, code), (502, Some(ErrorCode::RuntimeIncompatible)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_event_stream_resumes_without_gap_or_repeat() {
    let runtime = RuntimeProcess::start(Vec::<String>::new());
    let proxy = FaultProxy::start(runtime.addr()).await;
    let served = backend_via(proxy.addr(), "").await;
    let client = BrowserClient::connect(&served.base, "dev").await;
    let worker = client.create(Default::default()).await.unwrap().summary.worker_id;
    let mut stream = client.subscribe(Default::default()).await.unwrap();
    let StreamFrame::Snapshot(snapshot) = stream.next().await.unwrap() else { panic!("snapshot first") };

    let mut seen = Vec::new();
    for round in 0..3 {
        let ack = input_after_cut(&client, &worker, format!("round {round}")).await;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.unwrap().unwrap();
            if let StreamFrame::Event { event } = frame {
                let done = matches!(event.body, EventBody::TurnCompleted { turn_id, .. } if turn_id == ack.turn_id);
                seen.push(event);
                if done {
                    break;
                }
            }
        }
        // Cut every connection through the proxy, the backend's stream to the runtime included.
        proxy.cut();
    }
    let seqs: Vec<u64> = seen.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeat: {seqs:?}");
    let mut replay =
        client.subscribe(runtime_api::SubscribeRequest { after: Some(snapshot.seq), worker_id: None }).await.unwrap();
    let mut durable = BTreeSet::new();
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(500), replay.next()).await {
        if let StreamFrame::Event { event } = frame {
            durable.insert(event.seq);
        }
    }
    let delivered: BTreeSet<u64> = seen.iter().filter(|e| e.is_durable()).map(|e| e.seq).collect();
    assert_eq!(durable, delivered, "every durable event arrived once");
    let inputs = seen.iter().filter(|e| matches!(e.body, EventBody::InputAccepted { .. })).count();
    assert_eq!(inputs, 3, "each input sent once after a cut landed once");
    assert!(proxy.connections() > 3, "the stream really reconnected");
}

/// Sends an input right after a cut, once. The connection the backend pooled is dead; the backend sends every
/// command with an idempotency key and retries it by itself on a fresh connection, so the caller never sees
/// the cut and the runtime applies the input once (checked by the caller through the event log).
async fn input_after_cut(
    client: &BrowserClient,
    worker: &runtime_api::WorkerId,
    text: String,
) -> runtime_api::InputAck {
    let request = InputRequest::user(text).when_busy(WhenBusy::Queue);
    client.input(worker, request).await.unwrap_or_else(|error| panic!("input after a cut refused: {error:?}"))
}
