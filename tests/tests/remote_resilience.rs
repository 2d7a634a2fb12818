//! The five findings of the fault run against a backend and a real `worker-runtime` behind the fault proxy:
//! a remote that dies quietly, answers 502 or garbage for a while, or leaves dead pooled connections
//! behind costs the Browser neither events nor errors, and the backend remembers a remote is down instead
//! of waiting on it every time.

use std::collections::BTreeSet;
use std::time::Duration;

use backend::api::views::{AllWorkersPage, RuntimeView};
use backend::health::HealthSettings;
use backend::stack::StackSettings;
use futures::StreamExt;
use runtime_api::{
    ErrorCode, Event, EventBody, FrameStream, InputRequest, RuntimeSource, StreamFrame, SubscribeRequest, WhenBusy,
    WorkerId,
};
use serde_json::Value;
use tests::browser::BrowserClient;
use tests::fault_proxy::{Fault, FaultProxy};
use tests::harness::{RuntimeProcess, ServedBackend, eventually, serve_backend_with};

/// Probes a failing remote again within 200 ms, so recovery is quick to see; a healthy one rarely, so no
/// probe meets a fault before the calls a test makes.
fn quick_healing(builder: backend::BackendBuilder) -> backend::BackendBuilder {
    let ms = Duration::from_millis;
    let health =
        HealthSettings { interval: ms(600_000), backoff_first: ms(50), backoff_max: ms(200), probe_timeout: ms(1_000) };
    builder.stack_settings(StackSettings { health, ..StackSettings::default() }).stream_reconnect_max(ms(200))
}

async fn backend_via(proxy: &FaultProxy) -> ServedBackend {
    let toml = format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"http://{}\"\n", proxy.addr());
    serve_backend_with(&toml, quick_healing).await
}

/// Sends an input straight to the runtime, past the proxy, so events happen while the backend's link is
/// broken.
async fn input_directly(runtime: &RuntimeProcess, worker: &WorkerId, text: &str) {
    let url = format!("{}/v1/workers/{worker}/input", runtime.base);
    let body = serde_json::json!({"content": text, "when_busy": "queue"});
    let response = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
}

/// Reads events until the turn answering `text` completed (the echo executor replies `[echo] text`).
async fn events_until_reply(stream: &mut FrameStream, seen: &mut Vec<Event>, turns: usize) {
    let mut completed = 0;
    while completed < turns {
        let frame = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("the stream delivers within 20 s")
            .expect("the stream stays open");
        match frame {
            StreamFrame::Event { event } => {
                completed += usize::from(matches!(event.body, EventBody::TurnCompleted { .. }));
                seen.push(event);
            }
            StreamFrame::Closed { reason, message, .. } => panic!("the stream closed: {reason:?}: {message}"),
            _ => {}
        }
    }
}

/// Every durable event after `after` reached `seen` exactly once, in order.
async fn no_gap_no_repeat(client: &BrowserClient, after: u64, seen: &[Event]) {
    let seqs: Vec<u64> = seen.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeat: {seqs:?}");
    let delivered: BTreeSet<u64> = seen.iter().filter(|e| e.is_durable()).map(|e| e.seq).collect();
    let last = *delivered.last().expect("durable events were delivered");
    let mut replay = client.subscribe(SubscribeRequest { after: Some(after), worker_id: None }).await.unwrap();
    let mut durable = BTreeSet::new();
    while durable.last().is_none_or(|seq| *seq < last) {
        let frame = tokio::time::timeout(Duration::from_secs(20), replay.next()).await.unwrap().unwrap();
        if let StreamFrame::Event { event } = frame {
            durable.insert(event.seq);
        }
    }
    assert_eq!(durable, delivered, "every durable event arrived once");
}

/// A worker of a runtime behind the fault proxy, and a Browser stream of its events after the snapshot.
struct Streaming {
    runtime: RuntimeProcess,
    proxy: FaultProxy,
    _served: ServedBackend,
    client: BrowserClient,
    worker: WorkerId,
    stream: FrameStream,
    /// The snapshot's seq: the stream carries every event after it.
    after: u64,
}

async fn streaming(runtime_args: &[&str]) -> Streaming {
    let runtime = RuntimeProcess::start(runtime_args.iter().copied());
    let proxy = FaultProxy::start(runtime.addr()).await;
    let served = backend_via(&proxy).await;
    let client = BrowserClient::connect(&served.base, "dev").await;
    let worker = client.create(Default::default()).await.unwrap().summary.worker_id;
    let mut stream = client.subscribe(Default::default()).await.unwrap();
    let StreamFrame::Snapshot(snapshot) = stream.next().await.unwrap() else { panic!("snapshot first") };
    Streaming { runtime, proxy, _served: served, client, worker, stream, after: snapshot.seq }
}

/// Waits until `/readyz` reports runtime `index` (in registry order) as `status`.
async fn until_health(served: &ServedBackend, index: usize, status: &str) {
    eventually(&format!("runtime {index} becoming {status}"), || async {
        let ready: Value = reqwest::get(format!("{}/readyz", served.base)).await.ok()?.json().await.ok()?;
        (ready["runtimes"][index]["status"] == status).then_some(())
    })
    .await;
}

/// Finding 2: a stream whose connection stalls (no close, no bytes) is taken for dead after the runtime's
/// heartbeats stop, and resumes from its last seq on a new connection — invisibly to the Browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_connection_stalls_resumes_without_gap_or_repeat() {
    let Streaming { runtime, proxy, _served, client, worker, mut stream, after } =
        streaming(&["--heartbeat-ms", "300"]).await;

    let mut seen = Vec::new();
    client.input(&worker, InputRequest::user("before")).await.unwrap();
    events_until_reply(&mut stream, &mut seen, 1).await;
    let connections = proxy.connections();
    proxy.stall();
    input_directly(&runtime, &worker, "during").await;
    events_until_reply(&mut stream, &mut seen, 1).await;
    assert!(proxy.connections() > connections, "the events came over a new connection");
    no_gap_no_repeat(&client, after, &seen).await;
}

/// Finding 3: 502s and garbage while the stream reconnects are ridden out; once the remote answers again,
/// the stream resumes with nothing lost, instead of closing for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_rides_out_bad_gateway_and_garbage_while_it_reconnects() {
    let Streaming { runtime, proxy, _served, client, worker, mut stream, after } = streaming(&[]).await;

    let mut seen = Vec::new();
    for (round, fault) in [Fault::BadGateway, Fault::Garbage].into_iter().enumerate() {
        proxy.set(fault).await;
        let before = proxy.connections();
        proxy.cut();
        input_directly(&runtime, &worker, &format!("round {round}")).await;
        // Nothing else calls the remote meanwhile, so new connections are the stream's attempts to resume.
        eventually(&format!("the stream meeting {fault:?} twice"), || async {
            (proxy.connections() >= before + 2).then_some(())
        })
        .await;
        proxy.set(Fault::Pass).await;
        events_until_reply(&mut stream, &mut seen, 1).await;
    }
    no_gap_no_repeat(&client, after, &seen).await;
}

/// Finding 4: once the monitor has noticed a blackholed remote, views of every runtime no longer wait on
/// it: its calls fail at once (`runtime_unavailable`, not a `runtime_timeout` after waiting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_of_every_runtime_stop_waiting_on_a_blackholed_remote_once_it_is_noticed() {
    let runtime = RuntimeProcess::start(Vec::<String>::new());
    let proxy = FaultProxy::start(runtime.addr()).await;
    let served = backend_via(&proxy).await;
    until_health(&served, 1, "ready").await;
    proxy.set(Fault::Blackhole).await;
    proxy.cut();
    // The first aggregate view meets the blackhole itself, and running out of its budget wakes the monitor.
    let first: AllWorkersPage =
        reqwest::get(format!("{}/api/workers", served.base)).await.unwrap().json().await.unwrap();
    assert_eq!(first.diagnostics[0].error.code, ErrorCode::RuntimeTimeout);
    until_health(&served, 1, "unavailable").await;

    let all: AllWorkersPage = reqwest::get(format!("{}/api/workers", served.base)).await.unwrap().json().await.unwrap();
    let error = &all.diagnostics[0].error;
    assert_eq!((error.code, all.diagnostics[0].runtime_id.as_str()), (ErrorCode::RuntimeUnavailable, "dev"));
    assert!(error.message.contains("did not answer"), "it says why: {error:?}");
    let views: Vec<RuntimeView> =
        reqwest::get(format!("{}/api/runtimes", served.base)).await.unwrap().json().await.unwrap();
    let dev = views.iter().find(|v| v.runtime_id.as_str() == "dev").unwrap();
    let health = dev.health.as_ref().unwrap();
    assert_eq!(health.last_error.as_ref().map(|e| e.code), Some(ErrorCode::RuntimeTimeout));
    assert!(health.failing_fast && health.last_ok_at.is_some(), "it answered before the blackhole: {health:?}");
    let embedded = views.iter().find(|v| v.runtime_id.as_str() == "backend-internal").unwrap();
    assert_eq!(embedded.status, runtime_api::RuntimeStatus::Ready);
}

/// Finding 5: a call on a pooled connection that died silently is retried on a fresh one and succeeds,
/// instead of waiting out its deadline and failing with `runtime_timeout`; commands included, landing once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_pooled_connections_that_died_silently_succeed_on_fresh_ones() {
    let runtime = RuntimeProcess::start(Vec::<String>::new());
    let proxy = FaultProxy::start(runtime.addr()).await;
    let served = backend_via(&proxy).await;
    let client = BrowserClient::connect(&served.base, "dev").await;
    let worker = client.create(Default::default()).await.unwrap().summary.worker_id;

    proxy.stall();
    client.get(&worker).await.expect("a read on a fresh connection");
    proxy.stall();
    let ack = client.input(&worker, InputRequest::user("once").when_busy(WhenBusy::Queue)).await.expect("input");
    let transcript = client.transcript(&worker, Default::default()).await.unwrap();
    let inputs = transcript.entries.iter().filter(|e| e.content == "once").count();
    assert_eq!((inputs, ack.transcript_seq), (1, 1), "the input landed once: {transcript:?}");
}

/// An input whose request reached the runtime but whose answer was lost is sent again by the backend under
/// the same idempotency key, and lands once; the Browser sees one ordinary ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_whose_answer_was_lost_is_retried_by_the_backend_and_lands_once() {
    let runtime = RuntimeProcess::start(Vec::<String>::new());
    let proxy = FaultProxy::start(runtime.addr()).await;
    let served = backend_via(&proxy).await;
    let client = BrowserClient::connect(&served.base, "dev").await;
    let worker = client.create(Default::default()).await.unwrap().summary.worker_id;

    // The next connection forwards the request and loses the answer; the retry's connection works.
    proxy.set_once(Fault::ResetMidResponse(0));
    proxy.cut();
    let connections = proxy.connections();
    let ack = client.input(&worker, InputRequest::user("exactly once")).await.expect("the backend retried");
    assert!(proxy.connections() >= connections + 2, "a second connection carried the retry");
    let transcript = client.transcript(&worker, Default::default()).await.unwrap();
    let landed: Vec<_> = transcript.entries.iter().filter(|e| e.content == "exactly once").collect();
    assert_eq!(landed.len(), 1, "{transcript:?}");
    assert_eq!(landed[0].seq, ack.transcript_seq, "the ack is the first attempt's");
}

/// Finding 1: adds of an endpoint that never answers are written, applied and answered at once, none with
/// `runtime_timeout`, and an unrelated delete does not wait behind them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_of_a_blackholed_endpoint_all_land_and_answer_without_waiting() {
    let blackhole = FaultProxy::start(tests::harness::NOTHING_LISTENS.parse().unwrap()).await;
    blackhole.set(Fault::Blackhole).await;
    let served = serve_backend_with("", quick_healing).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/settings/runtime-connections", served.base);
    let add = |n: usize| {
        let (http, url) = (http.clone(), url.clone());
        let endpoint = format!("http://{}", blackhole.addr());
        let body = serde_json::json!({"id": format!("bh-{n}"), "endpoint": endpoint, "display_name": "Blackhole"});
        async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let first = add(0).await;
    assert_eq!(first.0, 201, "{}", first.1);
    let (adds, removed) = tokio::join!(futures::future::join_all((1..40).map(add)), async {
        http.delete(format!("{url}/bh-0")).send().await.unwrap().status().as_u16()
    });
    assert_eq!(removed, 200, "a delete among the adds");
    for (status, body) in &adds {
        assert_eq!(*status, 201, "{body}");
        assert_eq!(body["connection"]["active"], true, "applied as soon as written: {body}");
    }
    let file = std::fs::read_to_string(served.workspace().join(".yoi/workspace-backend.local.toml")).unwrap();
    let written = (1..40).filter(|n| file.contains(&format!("id = \"bh-{n}\""))).count();
    assert_eq!(written, 39, "{file}");
    assert!(!file.contains("id = \"bh-0\""));
    let runtimes: Vec<RuntimeView> =
        reqwest::get(format!("{}/api/runtimes", served.base)).await.unwrap().json().await.unwrap();
    assert_eq!(runtimes.len(), 40, "the embedded runtime and every added one are served");
}
