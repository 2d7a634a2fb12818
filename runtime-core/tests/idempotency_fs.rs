//! Idempotency keys over the fs store: a key survives a clean restart and a `kill -9`, and checkpoints
//! keep only the newest command of each key inside the retention window and capacity.
//!
//! The crash writer is this test binary itself, started again with `IDEMPOTENCY_CRASH_DIR` set: then only
//! `crash_child_sends_keyed_commands_until_killed` does anything.

#[path = "fs_store/script.rs"]
mod script;
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime_api::{
    CancelAck, CancelOutcome, Command, CommandAck, CreateWorkerRequest, ErrorCode, IdempotencyKey, InputRequest,
    LifecycleRequest, Role, Timestamp, WorkerId, WorkerState,
};
use runtime_core::store::fs::{FsOptions, FsStore, read_snapshot};
use runtime_core::store::{CommandRecord, KeyRetention, Record};
use runtime_core::{Runtime, Store};
use script::{data_dir, every_line_parses, lines};
use support::{ScriptedExecutor, config, start, wait_for};

const CHILD_DIR: &str = "IDEMPOTENCY_CRASH_DIR";
const CHILD_ROUND: &str = "IDEMPOTENCY_CRASH_ROUND";
const WRITERS: usize = 4;
const COMMANDS: &str = "commands.jsonl";

/// Opens the store in `dir`, waiting while it is locked. Another test of this binary forks crash children;
/// until a child execs it holds copies of every descriptor open at the fork, this store's lock among them,
/// so a store reopened right after being closed may find its lock held for a moment.
fn open_when_free(dir: &Path, options: FsOptions) -> FsStore {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match FsStore::open(dir, options.clone()) {
            Err(runtime_core::store::StoreError::Locked) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other.expect("the store opens"),
        }
    }
}

fn key(raw: &str) -> Option<IdempotencyKey> {
    Some(IdempotencyKey::parse(raw).unwrap())
}

fn fast() -> CreateWorkerRequest {
    CreateWorkerRequest { profile: Some("fast".into()), ..Default::default() }
}

async fn run(runtime: &Runtime, command: Command, raw_key: &str) -> CommandAck {
    runtime.command(command, key(raw_key)).await.unwrap()
}

/// The keys `commands.jsonl` holds, oldest first.
fn keys_on_disk(dir: &Path) -> Vec<String> {
    lines(&dir.join(COMMANDS))
        .iter()
        .map(|line| serde_json::from_str::<CommandRecord>(line).unwrap().key.as_str().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_survive_a_clean_restart_and_their_repeats_change_nothing() {
    let dir = data_dir();
    let executor = Arc::new(ScriptedExecutor::default());
    let store = Arc::new(open_when_free(dir.path(), FsOptions::default()));
    let runtime = start(config(), &executor, store).await;
    let created = run(&runtime, Command::Create(fast()), "create").await;
    let w = created.clone().into_create().unwrap().summary.worker_id;
    let input = || Command::Input(w.clone(), InputRequest::user("exactly once"));
    let accepted = run(&runtime, input(), "input").await;
    wait_for(&runtime, &w, |d| d.summary.state == WorkerState::Idle && d.summary.transcript_len == 2).await;
    let other = runtime.create(fast()).await.unwrap().summary.worker_id;
    let stop = || Command::Stop(other.clone(), LifecycleRequest { reason: Some("done".into()) });
    let stopped = run(&runtime, stop(), "stop").await;
    runtime.shutdown().await.unwrap();
    drop(runtime);
    assert_eq!(keys_on_disk(dir.path()), ["create", "input", "stop"], "shutdown checkpoints the keys");

    let store = Arc::new(open_when_free(dir.path(), FsOptions::default()));
    let runtime = start(config(), &executor, store.clone()).await;
    let transcript = runtime.transcript(&w, Default::default()).await.unwrap().entries;
    let before = (store.stats().batches, runtime.summary().last_event_seq);
    assert_eq!(run(&runtime, Command::Create(fast()), "create").await, created);
    assert_eq!(run(&runtime, input(), "input").await, accepted);
    assert_eq!(run(&runtime, stop(), "stop").await, stopped);
    let refused = runtime.command(Command::Input(w.clone(), InputRequest::user("other")), key("input")).await;
    let refused = refused.unwrap_err();
    assert_eq!((refused.code, refused.field.as_deref()), (ErrorCode::InvalidRequest, Some("Idempotency-Key")));

    assert_eq!((store.stats().batches, runtime.summary().last_event_seq), before, "repeats store nothing");
    assert_eq!(runtime.transcript(&w, Default::default()).await.unwrap().entries, transcript);
    assert_eq!(transcript.iter().filter(|e| e.role == Role::User).count(), 1);
    assert_eq!(runtime.summary().workers.total, 2);
    runtime.shutdown().await.unwrap();
}

/// A command acknowledged by the killed child, as it printed it.
#[derive(Debug)]
enum Acked {
    Create { tag: String, worker: WorkerId },
    Input { tag: String, worker: WorkerId, turn_id: u64, transcript_seq: u64, event_seq: u64 },
}

fn create_key(tag: &str) -> String {
    format!("create-{tag}")
}

fn input_key(tag: &str) -> String {
    format!("input-{tag}")
}

fn input_text(tag: &str) -> String {
    format!("input {tag}")
}

/// Small journal segments, so checkpoints (which rewrite `commands.jsonl`) run all the time.
fn crash_options() -> FsOptions {
    FsOptions { checkpoint_bytes: 16 * 1024, ..FsOptions::default() }
}

#[test]
fn crash_child_sends_keyed_commands_until_killed() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) else { return };
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    tokio.block_on(async move {
        let store = Arc::new(open_when_free(Path::new(&dir), crash_options()));
        let runtime = start(config(), &Arc::new(ScriptedExecutor::default()), store).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let (runtime, round) = (runtime.clone(), round.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let tag = format!("{round}-{writer}-{i}");
                    let created = run(&runtime, Command::Create(fast()), &create_key(&tag)).await;
                    let worker = created.into_create().unwrap().summary.worker_id;
                    println!("acked create {tag} {worker}");
                    let input = Command::Input(worker.clone(), InputRequest::user(input_text(&tag)));
                    let ack = run(&runtime, input, &input_key(&tag)).await.into_input().unwrap();
                    println!("acked input {tag} {worker} {} {} {}", ack.turn_id, ack.transcript_seq, ack.event_seq);
                    if Instant::now() > deadline {
                        return;
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

fn parse_ack(line: &str) -> Option<Acked> {
    let words: Vec<&str> = line.strip_prefix("acked ")?.split(' ').collect();
    let number = |i: usize| words[i].parse::<u64>().unwrap();
    Some(match words[0] {
        "create" => Acked::Create { tag: words[1].into(), worker: WorkerId::parse(words[2]).unwrap() },
        "input" => Acked::Input {
            tag: words[1].into(),
            worker: WorkerId::parse(words[2]).unwrap(),
            turn_id: number(3),
            transcript_seq: number(4),
            event_seq: number(5),
        },
        other => panic!("unknown ack {other}"),
    })
}

/// Runs the child until it has acknowledged something and `after` more has passed, then kills it
/// (`SIGKILL`) and returns what it acknowledged.
fn kill_child_after(dir: &Path, round: usize, after: Duration) -> Vec<Acked> {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child_sends_keyed_commands_until_killed", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ROUND, round.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (first_ack, writing) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(ack) = parse_ack(&line) {
                acks.push(ack);
                let _ = first_ack.send(());
            }
        }
        acks
    });
    writing.recv_timeout(Duration::from_secs(60)).expect("the child starts sending commands");
    std::thread::sleep(after);
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap()
}

/// Reopens the killed directory and sends every acknowledged command again under its key: each gets its
/// first ack, and nothing is stored or created.
async fn repeat_everything(dir: &Path, acked: &[Acked]) {
    let store = Arc::new(open_when_free(dir, crash_options()));
    let runtime = start(config(), &Arc::new(ScriptedExecutor::default()), store.clone()).await;
    // Batches, not the event seq: the repairs' events may still be on their way to the feed, and no event
    // is durable without a batch.
    let before = (store.stats().batches, runtime.summary().workers.total);
    for ack in acked {
        match ack {
            Acked::Create { tag, worker } => {
                let created = run(&runtime, Command::Create(fast()), &create_key(tag)).await;
                assert_eq!(&created.into_create().unwrap().summary.worker_id, worker, "{tag}");
            }
            Acked::Input { tag, worker, turn_id, transcript_seq, event_seq } => {
                let input = Command::Input(worker.clone(), InputRequest::user(input_text(tag)));
                let again = run(&runtime, input, &input_key(tag)).await.into_input().unwrap();
                assert_eq!(
                    (&again.worker_id, again.turn_id, again.transcript_seq, again.event_seq),
                    (worker, *turn_id, *transcript_seq, *event_seq),
                    "{tag}"
                );
                let entries = runtime.transcript(worker, Default::default()).await.unwrap().entries;
                let inputs: Vec<u64> = entries
                    .iter()
                    .filter(|e| e.role == Role::User && e.content == input_text(tag))
                    .map(|e| e.seq)
                    .collect();
                assert_eq!(inputs, [*transcript_seq], "{tag}: the input is in the transcript exactly once");
            }
        }
    }
    let after = (store.stats().batches, runtime.summary().workers.total);
    assert_eq!(after, before, "repeats stored or created nothing");
    runtime.shutdown().await.unwrap();
}

#[test]
fn keys_acknowledged_before_a_kill_are_remembered_after_it() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let dir = data_dir();
    let mut acked = Vec::new();
    for (round, after_ms) in [60, 250, 130].into_iter().enumerate() {
        let acks = kill_child_after(dir.path(), round, Duration::from_millis(after_ms));
        assert!(!acks.is_empty(), "round {round}: the child acknowledged nothing");
        acked.extend(acks);
        let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        tokio.block_on(repeat_everything(dir.path(), &acked));
        // Checked once the store has been opened again, as in fs_store_crash: a kill in the middle of a write
        // may leave a torn last line, which the owner cuts off at open; none may be left after that.
        every_line_parses(dir.path());
    }
    println!("{} acknowledged commands repeated after 3 kills", acked.len());
}

/// A remembered cancel under `raw_key`, made `age` ago, for store-level tests.
fn remembered(raw_key: &str, fingerprint: &str, age: Duration) -> Arc<CommandRecord> {
    let at = Timestamp::now().checked_sub(jiff::SignedDuration::try_from(age).unwrap()).unwrap();
    let ack = CommandAck::Cancel(CancelAck {
        worker_id: WorkerId::parse("w-1").unwrap(),
        outcome: CancelOutcome::NothingToCancel,
        turn_id: None,
        dropped_queued: 0,
        state: WorkerState::Idle,
    });
    Arc::new(CommandRecord { key: IdempotencyKey::parse(raw_key).unwrap(), fingerprint: fingerprint.into(), at, ack })
}

fn hour_window(capacity: usize) -> FsOptions {
    FsOptions { keys: KeyRetention { window: Duration::from_secs(3600), capacity }, ..FsOptions::default() }
}

fn loaded_keys(records: &[Arc<CommandRecord>]) -> Vec<(&str, &str)> {
    records.iter().map(|r| (r.key.as_str(), r.fingerprint.as_str())).collect()
}

#[tokio::test]
async fn a_checkpoint_prunes_keys_past_the_window_and_the_oldest_beyond_the_capacity() {
    let dir = data_dir();
    let store = open_when_free(dir.path(), hour_window(2));
    let minute = Duration::from_secs(60);
    for record in [
        remembered("stale", "f", Duration::from_secs(2 * 3600)),
        remembered("oldest", "f", 3 * minute),
        remembered("older", "f", 2 * minute),
        remembered("newest", "f", minute),
    ] {
        store.append(vec![Record::Command(record)]).wait().await.unwrap();
    }
    store.close().await.unwrap();
    assert_eq!(keys_on_disk(dir.path()), ["older", "newest"]);
    let store = open_when_free(dir.path(), hour_window(2));
    assert_eq!(loaded_keys(&store.load().unwrap().commands), [("older", "f"), ("newest", "f")]);
}

#[tokio::test]
async fn a_key_used_again_after_its_window_keeps_its_new_command_across_checkpoints_and_crashes() {
    // The first use left the window, so the runtime ran the second one: that is what a repeat must get.
    let old = || remembered("k", "first request", Duration::from_secs(2 * 3600));
    let new = || remembered("k", "second request", Duration::from_secs(60));

    // Through a checkpoint (a clean close).
    let dir = data_dir();
    let store = open_when_free(dir.path(), hour_window(100));
    store.append(vec![Record::Command(old())]).wait().await.unwrap();
    store.append(vec![Record::Command(new())]).wait().await.unwrap();
    store.close().await.unwrap();
    assert_eq!(loaded_keys(&read_snapshot(dir.path(), 10_000).unwrap().commands), [("k", "second request")]);

    // Through a crash: the journal is replayed at the next open, once read-only and once for real.
    let dir = data_dir();
    let store = open_when_free(dir.path(), hour_window(100));
    store.append(vec![Record::Command(old())]).wait().await.unwrap();
    store.append(vec![Record::Command(new())]).wait().await.unwrap();
    drop(store);
    assert_eq!(loaded_keys(&read_snapshot(dir.path(), 10_000).unwrap().commands), [("k", "second request")]);
    let store = open_when_free(dir.path(), hour_window(100));
    assert_eq!(loaded_keys(&store.load().unwrap().commands), [("k", "second request")]);
    store.close().await.unwrap();
    assert_eq!(keys_on_disk(dir.path()), ["k"]);
    let store = open_when_free(dir.path(), hour_window(100));
    assert_eq!(loaded_keys(&store.load().unwrap().commands), [("k", "second request")]);
}
