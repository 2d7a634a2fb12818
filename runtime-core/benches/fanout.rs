//! Event fan-out through the backend (SPEC §11): 1,000 Browser WebSocket subscribers on one worker of a remote
//! runtime, release `worker-runtime` and `workspace-backend` processes on loopback. Turns run one after
//! another; every subscriber must see every durable event of the worker, in order, none missing (checked
//! against a subscriber on the runtime itself), and the figure is the delivery latency: from the event's
//! own time (`at`, the runtime's clock) to its arrival at a subscriber, over every subscriber and event.
//!
//! `cargo bench -p runtime-core --bench fanout` (it builds the release binaries first);
//! `SUBSCRIBERS=200 TURNS=5` for a smaller run.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tests::harness::{LoggedProcess, release_binaries};
use tokio_tungstenite::tungstenite::Message;

/// What one subscriber saw: each durable event's seq and how long after its `at` it arrived, in µs.
type Seen = Vec<(u64, i64)>;

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    tokio.block_on(run());
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn run() {
    let subscribers = setting("SUBSCRIBERS", 1000);
    let turns = setting("TURNS", 20);
    let bins = release_binaries();
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(&profiles, "[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 0\n").unwrap();
    let quiet = |_: &mut std::process::Command| {};
    let runtime_args = ["--log", "warn", "--profiles", profiles.to_str().unwrap()];
    let runtime = LoggedProcess::start_path(&bins.join("worker-runtime"), runtime_args, quiet);
    std::fs::create_dir_all(dir.path().join(".yoi")).unwrap();
    // Every subscriber comes from this one address: the per-client bound must let them all in.
    let config = format!(
        "[server]\nmax_event_streams_per_client = {}\n\n[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{}\"\n",
        subscribers + 16,
        runtime.base
    );
    std::fs::write(dir.path().join(".yoi/workspace-backend.toml"), config).unwrap();
    let backend_args = ["--log", "warn", "--no-auth", "--workspace", dir.path().to_str().unwrap()];
    let backend = LoggedProcess::start_path(&bins.join("workspace-backend"), backend_args, quiet);

    let http = reqwest::Client::new();
    let api = format!("{}/api/runtimes/dev", backend.base);
    let worker: Value =
        http.post(format!("{api}/workers")).json(&json!({})).send().await.unwrap().json().await.unwrap();
    let worker = worker["worker_id"].as_str().unwrap().to_owned();

    let through_backend = format!("{}?worker_id={worker}", api.replacen("http", "ws", 1) + "/events");
    let direct = format!("{}/v1/events?worker_id={worker}", runtime.base.replacen("http", "ws", 1));
    let mut sockets = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        sockets.push(open(&through_backend).await);
    }
    let reference = open(&direct).await;
    println!("== {subscribers} subscribers through the backend, {turns} turns on one remote worker");

    // Each reads until it has seen the last turn's completion.
    let readers: Vec<_> = sockets.into_iter().map(|socket| tokio::spawn(read_until_done(socket, turns))).collect();
    let reference = tokio::spawn(read_until_done(reference, turns));
    for n in 0..turns {
        let body = json!({"content": format!("turn {n}"), "when_busy": "queue"});
        let answer = http.post(format!("{api}/workers/{worker}/input")).json(&body).send().await.unwrap();
        assert!(answer.status().is_success(), "input {n}: {}", answer.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected: Vec<u64> = reference.await.unwrap().into_iter().map(|(seq, _)| seq).collect();
    let mut latencies = Vec::with_capacity(subscribers * expected.len());
    for (index, reader) in readers.into_iter().enumerate() {
        let seen = reader.await.unwrap();
        let seqs: Vec<u64> = seen.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, expected, "subscriber {index} saw the durable events in order, none missing");
        latencies.extend(seen.into_iter().map(|(_, micros)| micros));
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "{} durable events to each subscriber, {} deliveries, none lost or out of order",
        expected.len(),
        latencies.len()
    );
    println!("delivery latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", at(0.5), at(0.99), at(1.0));
    drop((backend, runtime));
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a stream and waits for its snapshot, so every subscriber is in place before the first turn.
async fn open(url: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message.unwrap()
            && text.contains("\"snapshot\"")
        {
            return socket;
        }
    }
    panic!("the stream at {url} closed before its snapshot");
}

/// Reads durable events until the `turns`-th `turn_completed`, with each one's delivery latency.
async fn read_until_done(mut socket: Socket, turns: usize) -> Seen {
    let mut seen = Vec::new();
    let mut completed = 0;
    while let Some(message) = socket.next().await {
        let arrived = jiff::Timestamp::now();
        let Message::Text(text) = message.unwrap() else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(frame["type"], "lagged", "a subscriber fell behind: {frame}");
        assert_ne!(frame["type"], "closed", "a stream closed early: {frame}");
        if frame["type"] != "event" || frame["event"]["kind"] == "turn_delta" {
            continue;
        }
        let event = &frame["event"];
        let at: jiff::Timestamp = event["at"].as_str().unwrap().parse().unwrap();
        let micros = arrived.duration_since(at).as_micros() as i64;
        seen.push((event["seq"].as_u64().unwrap(), micros));
        if event["kind"] == "turn_completed" {
            completed += 1;
            if completed == turns {
                let _ = socket.close(None).await;
                return seen;
            }
        }
    }
    panic!("a stream ended after {completed} of {turns} turns");
}
