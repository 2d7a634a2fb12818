//! Durable input acks per second over the fs store at 1, 16 and 64 concurrent writers, beside the same run
//! with one fsync per ack (group commit off) and with the memory store (SPEC §11: at least 20x).
//!
//! Run with `cargo bench -p runtime-core --bench durable`; results are recorded in `docs/benchmarks.md`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use runtime_api::{CreateWorkerRequest, InputRequest, RuntimeId, WhenBusy};
use runtime_core::store::fs::{FsOptions, FsStore};
use runtime_core::{
    Executor, ExecutorError, MemoryStore, Profile, ProfileSet, Runtime, RuntimeConfig, Store, TurnContext, TurnOutput,
};

const WRITERS: [usize; 3] = [1, 16, 64];
const MEASURE: Duration = Duration::from_secs(2);
/// Trials per configuration; the disk's fsync latency drifts, so baseline and group commit alternate and the
/// median of each is reported.
const TRIALS: usize = 3;

/// Ends every turn at once, so the figures are the runtime's and the store's, not an executor's.
struct Instant0;

#[async_trait]
impl Executor for Instant0 {
    async fn run(&self, _turn: TurnContext, _output: &mut dyn TurnOutput) -> Result<(), ExecutorError> {
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Kind {
    GroupCommit,
    FsyncPerAck,
    Memory,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::GroupCommit => "fs, group commit",
            Kind::FsyncPerAck => "fs, one fsync per ack",
            Kind::Memory => "memory",
        }
    }
}

/// Acks per second with `writers` tasks, each sending input to its own worker as fast as acks come back.
async fn acks_per_second(kind: Kind, writers: usize, dir: &std::path::Path) -> (f64, Option<(u64, u64)>) {
    let fs = match kind {
        Kind::Memory => None,
        Kind::GroupCommit | Kind::FsyncPerAck => {
            let options = FsOptions { group_commit: matches!(kind, Kind::GroupCommit), ..FsOptions::default() };
            Some(Arc::new(FsStore::open(dir, options).unwrap()))
        }
    };
    let store: Arc<dyn Store> = match &fs {
        Some(fs) => fs.clone(),
        None => Arc::new(MemoryStore::new()),
    };
    let mut profiles = ProfileSet::builtin();
    profiles.insert(Profile::new("instant", "instant", Arc::new(Instant0)));
    let config = RuntimeConfig::new(RuntimeId::parse("bench").unwrap(), "Bench");
    let runtime = Runtime::start(config, profiles, store).await.unwrap();
    let acks = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + MEASURE;
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (runtime, acks) = (runtime.clone(), acks.clone());
            tokio::spawn(async move {
                let request = CreateWorkerRequest { profile: Some("instant".into()), ..Default::default() };
                let worker = runtime.create(request).await.unwrap().summary.worker_id;
                while Instant::now() < deadline {
                    let input = InputRequest::user("ping").when_busy(WhenBusy::Queue);
                    match runtime.input(&worker, input).await {
                        Ok(_) => {
                            acks.fetch_add(1, Ordering::Relaxed);
                        }
                        // The queue is full: a refusal comes back without waiting for anything, so let the
                        // turns that drain the queue run, as a network client's round trip would.
                        Err(_) => tokio::task::yield_now().await,
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    for task in tasks {
        task.await.unwrap();
    }
    let rate = acks.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let stats = fs.as_ref().map(|fs| (fs.stats().batches, fs.stats().syncs));
    runtime.shutdown().await.unwrap();
    (rate, stats)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // A real disk: the target directory, not a temp dir that may live in memory.
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("durable-bench");
    let _ = std::fs::remove_dir_all(&base);
    let tokio = tokio::runtime::Runtime::new().unwrap();
    println!("{:<24} {:>8} {:>14} {:>18}", "store", "writers", "acks/s (median)", "batches per fsync");
    for writers in WRITERS {
        let mut rates = [Vec::new(), Vec::new(), Vec::new()];
        let mut per_sync = [Vec::new(), Vec::new(), Vec::new()];
        for trial in 0..TRIALS {
            for (k, kind) in [Kind::FsyncPerAck, Kind::GroupCommit, Kind::Memory].into_iter().enumerate() {
                let dir = base.join(format!("{k}-{writers}-{trial}"));
                let (rate, stats) = tokio.block_on(acks_per_second(kind, writers, &dir));
                rates[k].push(rate);
                if let Some((batches, syncs)) = stats {
                    per_sync[k].push(batches as f64 / syncs.max(1) as f64);
                }
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        let baseline = median(rates[0].clone());
        for (k, kind) in [Kind::FsyncPerAck, Kind::GroupCommit, Kind::Memory].into_iter().enumerate() {
            let rate = median(rates[k].clone());
            let grouping =
                if per_sync[k].is_empty() { "-".to_owned() } else { format!("{:.1}", median(per_sync[k].clone())) };
            let versus = if k == 0 { String::new() } else { format!("  ({:.1}x one fsync per ack)", rate / baseline) };
            println!("{:<24} {writers:>8} {rate:>14.0} {grouping:>18}{versus}", kind.label());
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}
