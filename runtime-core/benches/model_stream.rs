//! Model streaming figures (SPEC §11), over release `worker-runtime` and `workspace-backend` processes and
//! a scripted OpenAI-compatible server on loopback:
//!
//! - CPU per streamed chunk: a 10,000-chunk reply, with the CPU time each process spent on it (from
//!   `/proc/<pid>/stat`) divided by the chunks, read by a subscriber on the runtime directly and by a
//!   Browser through the backend;
//! - added delay: chunks stamped with the wall-clock time the server wrote them, one a millisecond, and the
//!   time each arrived as a `turn_delta` frame, on the runtime's own stream and through the backend;
//! - cancel: from a Browser's cancel request to the provider seeing its connection close.
//!
//! `cargo bench -p runtime-core --bench model_stream` (it builds the release binaries first).

use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tests::harness::{LoggedProcess, release_binaries};
use tests::model_server::{
    Behaviour, ModelServer, Step, content_chunk, finish_chunk, now_micros, role_chunk, usage_chunk,
};
use tokio_tungstenite::tungstenite::Message;

const CHUNKS: usize = 10_000;
const STAMPED: usize = 2_000;
const ROUNDS: usize = 3;
const CANCELS: usize = 20;

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    tokio.block_on(run());
}

async fn run() {
    let bins = release_binaries();
    let model = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.toml");
    let toml = format!(
        "[[profiles]]\nname = \"bench\"\nexecutor = \"openai\"\nbase_url = \"{}\"\nmodel = \"bench\"\nmax_retries = 0\n",
        model.base_url()
    );
    std::fs::write(&profiles, toml).unwrap();
    let quiet = |_: &mut Command| {};
    let runtime_args = ["--log", "warn", "--profiles", profiles.to_str().unwrap()];
    let runtime = LoggedProcess::start_path(&bins.join("worker-runtime"), runtime_args, quiet);
    std::fs::create_dir_all(dir.path().join(".yoi")).unwrap();
    let remote = format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{}\"\n", runtime.base);
    std::fs::write(dir.path().join(".yoi/workspace-backend.toml"), remote).unwrap();
    let backend_args = ["--log", "warn", "--no-auth", "--workspace", dir.path().to_str().unwrap()];
    let backend = LoggedProcess::start_path(&bins.join("workspace-backend"), backend_args, quiet);

    let paths = [
        ("runtime stream", format!("{}/v1", runtime.base), format!("{}/v1/events", runtime.base)),
        (
            "through the backend",
            format!("{}/api/runtimes/dev", backend.base),
            format!("{}/api/runtimes/dev/events", backend.base),
        ),
    ];
    println!("== CPU per streamed chunk ({CHUNKS} chunks, {ROUNDS} rounds, median)");
    for (label, api, events) in &paths {
        let mut per_chunk = Vec::new();
        for _ in 0..ROUNDS {
            model.push(long_reply());
            let before = (cpu(runtime.pid()), cpu(backend.pid()));
            let started = Instant::now();
            let seen = turn(api, events, |_| {}).await;
            let wall = started.elapsed();
            assert_eq!(seen.reply_bytes, CHUNKS * "tok ".len(), "the whole reply was recorded");
            let runtime_cpu = cpu(runtime.pid()) - before.0;
            let backend_cpu = cpu(backend.pid()) - before.1;
            per_chunk.push((runtime_cpu / CHUNKS as f64, backend_cpu / CHUNKS as f64, wall, seen.deltas, seen.lagged));
        }
        per_chunk.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (runtime_us, backend_us, wall, deltas, lagged) = per_chunk[ROUNDS / 2];
        println!(
            "{label:>20}: runtime {:.1} µs/chunk, backend {:.1} µs/chunk, {:.0} chunks/s, \
             {deltas} turn_delta frames, {lagged} missed",
            runtime_us * 1e6,
            backend_us * 1e6,
            CHUNKS as f64 / wall.as_secs_f64()
        );
    }

    println!("\n== delay from the provider's chunk to the subscriber's turn_delta ({STAMPED} chunks, 1 per ms)");
    for (label, api, events) in &paths {
        let mut steps = Vec::with_capacity(STAMPED * 2 + 2);
        for _ in 0..STAMPED {
            steps.push(Step::Stamp);
            steps.push(Step::Sleep(Duration::from_millis(1)));
        }
        steps.extend([Step::Data(finish_chunk("stop")), Step::Data("[DONE]".into())]);
        model.push(Behaviour::Stream(steps));
        let mut delays = Vec::with_capacity(STAMPED);
        turn(api, events, |delta| {
            let arrived = now_micros();
            let sent: u64 = delta.trim().parse().expect("a stamped chunk");
            delays.push(arrived.saturating_sub(sent));
        })
        .await;
        delays.sort_unstable();
        let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!("{label:>20}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms", at(0.5), at(0.99), at(1.0));
    }

    println!(
        "\n== from a Browser's cancel to the provider's connection closing ({CANCELS} turns, through the backend)"
    );
    let (_, api, events) = &paths[1];
    let mut closes = Vec::with_capacity(CANCELS);
    for _ in 0..CANCELS {
        let index = model.requests().len();
        model.push(Behaviour::reply_slowly(&["a ", "b ", "c ", "d ", "e "], Duration::from_millis(200)));
        closes.push(cancel_mid_stream(&model, index, api, events).await);
    }
    closes.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("          cancel: p50 {:.1} ms, max {:.1} ms", ms(closes[CANCELS / 2]), ms(closes[CANCELS - 1]));
    drop((backend, runtime));
}

/// Starts a slow turn, cancels it at its first delta, and returns how long after the cancel was sent the
/// provider saw request `index`'s connection close.
async fn cancel_mid_stream(model: &ModelServer, index: usize, api: &str, events: &str) -> Duration {
    let Started { http, worker, mut socket } = start_turn(api, events).await;
    while let Some(Ok(message)) = socket.next().await {
        if let Message::Text(text) = message
            && text.contains("\"turn_delta\"")
        {
            break;
        }
    }
    let sent = tokio::time::Instant::now();
    http.post(format!("{api}/workers/{worker}/cancel")).json(&json!({})).send().await.unwrap();
    assert!(model.wait_closed(index, Duration::from_secs(5)).await, "the provider's connection closed");
    assert!(model.client_closed_early(index), "by the runtime, before the reply ended");
    model.closed_at(index).unwrap().saturating_duration_since(sent)
}

/// A reply of [`CHUNKS`] content chunks, as fast as the server can write them.
fn long_reply() -> Behaviour {
    let mut steps = vec![Step::Data(role_chunk())];
    steps.extend((0..CHUNKS).map(|_| Step::Data(content_chunk("tok "))));
    steps.extend([
        Step::Data(finish_chunk("stop")),
        Step::Data(usage_chunk(10, CHUNKS as u64)),
        Step::Data("[DONE]".into()),
    ]);
    Behaviour::Stream(steps)
}

/// What a subscriber saw of one turn.
struct Seen {
    /// `turn_delta` frames (chunks that arrive together are one delta).
    deltas: usize,
    /// Events the subscriber was told it missed because it fell behind.
    lagged: u64,
    /// Length of the recorded reply.
    reply_bytes: usize,
}

/// Creates a worker on the `bench` profile, runs one turn watching its stream, and says what arrived;
/// `each` sees every delta as it arrives.
async fn turn(api: &str, events: &str, mut each: impl FnMut(&str)) -> Seen {
    let Started { http, worker, mut socket } = start_turn(api, events).await;
    let (mut deltas, mut lagged) = (0, 0);
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap();
        match frame["event"]["kind"].as_str() {
            Some("turn_delta") => {
                each(frame["event"]["delta"].as_str().unwrap());
                deltas += 1;
            }
            Some("turn_completed") => {
                let page: Value =
                    http.get(format!("{api}/workers/{worker}/transcript")).send().await.unwrap().json().await.unwrap();
                let reply = page["entries"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().len();
                return Seen { deltas, lagged, reply_bytes: reply };
            }
            Some("turn_failed") => panic!("the turn failed: {frame}"),
            _ if frame["type"] == "lagged" => lagged += frame["missed"].as_u64().unwrap_or(0),
            _ => {}
        }
    }
    panic!("the stream ended before the turn did");
}

/// A turn just started on a fresh `bench` worker, with its event stream open.
struct Started {
    http: reqwest::Client,
    worker: String,
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

async fn start_turn(api: &str, events: &str) -> Started {
    let http = reqwest::Client::new();
    let worker: Value = http
        .post(format!("{api}/workers"))
        .json(&json!({"profile": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let worker = worker["worker_id"].as_str().unwrap().to_owned();
    let url = format!("{}?worker_id={worker}", events.replacen("http", "ws", 1));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    http.post(format!("{api}/workers/{worker}/input")).json(&json!({"content": "go"})).send().await.unwrap();
    Started { http, worker, socket }
}

/// CPU seconds (user and system) a process has used, from `/proc/<pid>/stat`.
fn cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = Command::new("getconf").arg("CLK_TCK").output().ok().and_then(|o| String::from_utf8(o.stdout).ok());
    ticks / hz.and_then(|h| h.trim().parse().ok()).unwrap_or(100.0)
}
