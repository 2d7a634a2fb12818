//! `kill -9` the runtime process at random moments while clients send input, restart it, and check that
//! nothing acknowledged was lost: every acked input is in its transcript where the ack said, every file in
//! the data directory parses, and event seqs go on without reuse. Many rounds, one data directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{InputAck, InputRequest, StreamFrame, TranscriptPage, WhenBusy, WorkerDetail, WorkerId, WorkerPage};
use tests::harness::RuntimeProcess;

const WORKERS: usize = 6;
const CLIENTS: usize = 8;

fn start(data: &Path, profiles: &Path) -> RuntimeProcess {
    RuntimeProcess::start([
        "--store".into(),
        "fs".into(),
        "--data-dir".into(),
        data.as_os_str().to_owned(),
        "--profiles".into(),
        profiles.as_os_str().to_owned(),
    ])
}

/// What clients were told: (worker, content, ack), and the highest event seq anyone saw.
#[derive(Default)]
struct Observed {
    acks: Vec<(WorkerId, String, InputAck)>,
    highest_seq: u64,
}

async fn drive(base: String, workers: Vec<WorkerId>, round: usize, observed: Arc<Mutex<Observed>>) {
    let http = reqwest::Client::new();
    let clients = (0..CLIENTS).map(|client| {
        let (http, base, workers, observed) = (http.clone(), base.clone(), workers.clone(), observed.clone());
        tokio::spawn(async move {
            for n in 0.. {
                let worker = &workers[(client + n) % workers.len()];
                let content = format!("round {round} client {client} input {n}");
                let input = InputRequest::user(content.clone()).when_busy(WhenBusy::Queue);
                let url = format!("{base}/v1/workers/{worker}/input");
                let Ok(response) = http.post(url).json(&input).send().await else { return };
                if response.status().as_u16() == 202 {
                    // Only a complete ack counts: the process may die while the body is on its way.
                    if let Ok(ack) = response.json::<InputAck>().await {
                        observed.lock().unwrap().acks.push((worker.clone(), content, ack));
                    }
                }
            }
        })
    });
    let watcher = {
        let (base, observed) = (base.clone(), observed.clone());
        tokio::spawn(async move {
            let url = format!("{}/v1/events", base.replacen("http", "ws", 1));
            let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else { return };
            while let Some(Ok(message)) = socket.next().await {
                if let Ok(StreamFrame::Event { event }) = serde_json::from_str::<StreamFrame>(&message.to_string()) {
                    let mut observed = observed.lock().unwrap();
                    observed.highest_seq = observed.highest_seq.max(event.seq);
                }
            }
        })
    };
    futures::future::join_all(clients).await;
    watcher.abort();
}

async fn transcript(http: &reqwest::Client, base: &str, worker: &WorkerId) -> Vec<(u64, String)> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let url = format!("{base}/v1/workers/{worker}/transcript?after={after}&limit=500");
        let page: TranscriptPage = http.get(url).send().await.unwrap().json().await.unwrap();
        entries.extend(page.entries.into_iter().map(|e| (e.seq, e.content)));
        match page.next_after {
            Some(next) => after = next,
            None => return entries,
        }
    }
}

/// Every line of every file the store keeps parses as JSON.
fn every_file_parses(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") || name.ends_with(".jsonl") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), n + 1));
            }
        }
    }
}

#[test]
fn acknowledged_inputs_survive_kill_9_at_random_moments() {
    let rounds: usize = std::env::var("YOI_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(&profiles, "[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 1\n").unwrap();
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut all_acks: Vec<(WorkerId, String, InputAck)> = Vec::new();
    let mut highest_seen = 0;

    let mut process = start(&data, &profiles);
    let workers: Vec<WorkerId> = tokio.block_on(async {
        let mut workers = Vec::new();
        for _ in 0..WORKERS {
            let url = format!("{}/v1/workers", process.base);
            let detail: WorkerDetail =
                http.post(url).json(&serde_json::json!({})).send().await.unwrap().json().await.unwrap();
            workers.push(detail.summary.worker_id);
        }
        workers
    });

    for round in 0..rounds {
        // A pseudo-random moment between 30 and 530 ms into the round.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = Duration::from_millis(30 + seed % 500);
        let observed = Arc::new(Mutex::new(Observed::default()));
        tokio.block_on(async {
            let driving = tokio::spawn(drive(process.base.clone(), workers.clone(), round, observed.clone()));
            tokio::time::sleep(kill_after).await;
            process.kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), driving).await;
        });
        let observed = std::mem::take(&mut *observed.lock().unwrap());
        highest_seen = highest_seen.max(observed.highest_seq);
        highest_seen = observed.acks.iter().map(|(_, _, ack)| ack.event_seq).fold(highest_seen, u64::max);
        all_acks.extend(observed.acks);

        process = start(&data, &profiles);
        every_file_parses(&data);
        tokio.block_on(async {
            let page: WorkerPage =
                http.get(format!("{}/v1/workers", process.base)).send().await.unwrap().json().await.unwrap();
            assert_eq!(page.workers.len(), WORKERS, "round {round}: every worker is back");
            let mut transcripts = BTreeMap::new();
            for worker in &workers {
                let entries = transcript(&http, &process.base, worker).await;
                assert!(
                    entries.iter().enumerate().all(|(i, (seq, _))| *seq == i as u64 + 1),
                    "round {round}: transcript of {worker} has gaps"
                );
                transcripts.insert(worker.clone(), entries);
            }
            for (worker, content, ack) in &all_acks {
                let entry = transcripts[worker].get(ack.transcript_seq as usize - 1);
                assert_eq!(
                    entry.map(|(_, c)| c.as_str()),
                    Some(content.as_str()),
                    "round {round}: acknowledged input lost or moved"
                );
            }
            // A new event's seq is above everything handed out before the crash, deltas included.
            let input = InputRequest::user(format!("after round {round}")).when_busy(WhenBusy::Queue);
            let url = format!("{}/v1/workers/{}/input", process.base, workers[0]);
            let ack: InputAck = http.post(url).json(&input).send().await.unwrap().json().await.unwrap();
            assert!(ack.event_seq > highest_seen, "round {round}: seq {} reused (seen {highest_seen})", ack.event_seq);
            highest_seen = ack.event_seq;
            all_acks.push((workers[0].clone(), format!("after round {round}"), ack));
        });
    }
    assert!(
        all_acks.len() > rounds * 10,
        "the rounds acknowledged enough inputs to mean something: {}",
        all_acks.len()
    );
}
