//! A runtime over the fs store: a restart brings everything back, acks wait for the disk, and concurrent
//! writers share fsyncs.

#[path = "fs_store/script.rs"]
mod script;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use runtime_api::{CreateWorkerRequest, InputRequest, LifecycleRequest, StreamFrame, WorkerId, WorkerState};
use runtime_core::store::fs::{FsOptions, FsStats, FsStore, read_snapshot};
use runtime_core::{Runtime, Store};
use script::{Script, data_dir};
use support::{ScriptedExecutor, config, drain_ready, events, next, start, subscribe, wait_for};

async fn fast_worker(runtime: &Runtime) -> WorkerId {
    let request = CreateWorkerRequest { profile: Some("fast".into()), ..Default::default() };
    runtime.create(request).await.unwrap().summary.worker_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_runtime_restarted_over_the_fs_store_gets_everything_back() {
    let dir = data_dir();
    let executor = Arc::new(ScriptedExecutor::default());
    let store = Arc::new(FsStore::open(dir.path(), FsOptions::default()).unwrap());
    let runtime = start(config(), &executor, store).await;
    let log_id = runtime.summary().log_id;
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(fast_worker(&runtime).await);
    }
    for (i, worker) in workers.iter().enumerate() {
        for round in 1..=2 {
            runtime.input(worker, InputRequest::user(format!("hello {i} round {round}"))).await.unwrap();
            wait_for(&runtime, worker, |d| {
                d.summary.state == WorkerState::Idle && d.summary.transcript_len == round * 2
            })
            .await;
        }
    }
    runtime.stop(&workers[2], LifecycleRequest { reason: Some("done".into()) }).await.unwrap();
    let mut before = Vec::new();
    for worker in &workers {
        let detail = runtime.get(worker).await.unwrap();
        before.push((detail, runtime.transcript(worker, Default::default()).await.unwrap().entries));
    }
    runtime.shutdown().await.unwrap();
    drop(runtime);

    let on_disk = read_snapshot(dir.path(), 10_000).unwrap();
    assert!(std::fs::read_dir(dir.path().join("journal")).unwrap().next().is_none(), "shutdown checkpoints all");
    assert_eq!(on_disk.workers.len(), 3);
    let store = Arc::new(FsStore::open(dir.path(), FsOptions::default()).unwrap());
    let runtime = start(config(), &executor, store).await;
    assert_eq!(runtime.summary().log_id, log_id);
    for (worker, (detail, entries)) in workers.iter().zip(&before) {
        let now = runtime.get(worker).await.unwrap();
        assert_eq!(
            (now.summary.state, now.summary.transcript_len),
            (detail.summary.state, detail.summary.transcript_len)
        );
        assert_eq!(now.end_reason, detail.end_reason);
        assert_eq!(&runtime.transcript(worker, Default::default()).await.unwrap().entries, entries);
    }
    let mut replay = subscribe(&runtime, Some(0));
    let replayed = events(&drain_ready(&mut replay).await);
    assert_eq!(replayed, on_disk.events, "every retained event replays after the restart");

    let mut live = subscribe(&runtime, None);
    assert!(matches!(next(&mut live).await, StreamFrame::Snapshot(_)));
    fast_worker(&runtime).await;
    let StreamFrame::Event { event } = next(&mut live).await else { panic!("expected an event") };
    assert!(event.seq > on_disk.reserved_through, "seqs go on above every reservation");
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_input_is_on_disk_before_the_store_is_closed() {
    let dir = data_dir();
    let executor = Arc::new(ScriptedExecutor::default());
    let store = Arc::new(FsStore::open(dir.path(), FsOptions::default()).unwrap());
    let runtime = start(config(), &executor, store).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let runtime = runtime.clone();
        tasks.push(tokio::spawn(async move {
            let worker = fast_worker(&runtime).await;
            runtime.input(&worker, InputRequest::user(format!("input {i}"))).await.unwrap();
            worker
        }));
    }
    let mut acked = Vec::new();
    for task in tasks {
        acked.push(task.await.unwrap());
    }
    // Read while the runtime runs: whatever was acknowledged is already in the journal.
    let on_disk = read_snapshot(dir.path(), 10_000).unwrap();
    for worker in &acked {
        let stored = on_disk.workers.iter().find(|w| &w.record.worker_id == worker).expect("worker is on disk");
        assert!(stored.transcript.first().is_some_and(|e| e.content.starts_with("input ")));
    }
    runtime.shutdown().await.unwrap();
}

/// Runs `writers` tasks that each create a worker and then append `inputs` entries, every append made under
/// one lock as the runtime's sequencer does, each waiting for its ack before the next.
async fn concurrent_appends(group_commit: bool, writers: usize, inputs: usize) -> (FsStats, Duration) {
    let dir = data_dir();
    let options = FsOptions { group_commit, ..FsOptions::default() };
    let store = Arc::new(FsStore::open(dir.path(), options).unwrap());
    let log_id = store.load().unwrap().log_id;
    let sequencer = Arc::new(Mutex::new(Script::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 1..=writers {
        let (store, sequencer) = (store.clone(), sequencer.clone());
        tasks.push(tokio::spawn(async move {
            let ticket = {
                let mut script = sequencer.lock();
                store.append(script.create(n))
            };
            ticket.wait().await.unwrap();
            for i in 0..inputs {
                let ticket = {
                    let mut script = sequencer.lock();
                    store.append(script.input(n, &format!("input {i} of writer {n}, long enough to look like one")))
                };
                ticket.wait().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let stats = store.stats();
    store.close().await.unwrap();
    let stored = read_snapshot(dir.path(), 10_000).unwrap();
    assert_eq!(stored.log_id, log_id);
    assert_eq!(stored.workers.len(), writers);
    assert!(stored.workers.iter().all(|w| w.transcript.len() == inputs));
    (stats, elapsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_fsyncs_with_group_commit() {
    let (stats, elapsed) = concurrent_appends(true, 64, 30).await;
    println!("group commit: {} batches, {} syncs in {elapsed:?}", stats.batches, stats.syncs);
    assert_eq!(stats.batches, 64 * 31);
    assert!(stats.syncs * 4 <= stats.batches, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_group_commit_every_batch_gets_its_own_fsync() {
    let (stats, elapsed) = concurrent_appends(false, 16, 10).await;
    println!("one fsync per batch: {} batches, {} syncs in {elapsed:?}", stats.batches, stats.syncs);
    assert_eq!((stats.batches, stats.syncs), (16 * 11, 16 * 11));
}
