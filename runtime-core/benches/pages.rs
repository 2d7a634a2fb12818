//! Page cost at 100 and 100,000 workers / transcript entries, and input-ack throughput of the memory store.
//!
//! Run with `cargo bench -p runtime-core`; results are recorded in `docs/benchmarks.md`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::FutureExt;
use runtime_api::{CreateWorkerRequest, InputRequest, ListQuery, RuntimeId, TranscriptQuery, WhenBusy, WorkerId};
use runtime_core::store::{Durable, Record, SnapshotBuilder, StoreError, StoreSnapshot};
use runtime_core::{
    Executor, ExecutorError, MemoryStore, Profile, ProfileSet, Runtime, RuntimeConfig, Store, TurnContext, TurnOutput,
};
use tests::doubles::preloaded;

const SIZES: [usize; 2] = [100, 100_000];
const PAGE: u32 = 50;

/// Loads a prepared snapshot, so large runtimes start in a moment; appends are kept nowhere.
struct Preloaded(StoreSnapshot);

#[async_trait]
impl Store for Preloaded {
    fn kind(&self) -> &'static str {
        "preloaded"
    }
    fn load(&self) -> Result<StoreSnapshot, StoreError> {
        Ok(self.0.clone())
    }
    fn append(&self, _batch: Vec<Record>) -> Durable {
        Durable::done()
    }
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

fn worker_id(n: usize) -> WorkerId {
    WorkerId::parse(format!("w-{n:08}")).unwrap()
}

/// A store snapshot of `workers` workers with `entries` transcript entries each.
fn snapshot(workers: usize, entries: usize) -> StoreSnapshot {
    let mut builder = SnapshotBuilder::new("bench");
    for record in preloaded(workers, entries) {
        builder.apply(record).unwrap();
    }
    builder.finish()
}

fn config() -> RuntimeConfig {
    RuntimeConfig::new(RuntimeId::parse("bench").unwrap(), "Bench")
}

fn start(tokio: &tokio::runtime::Runtime, store: Arc<dyn Store>, profiles: ProfileSet) -> Runtime {
    tokio.block_on(Runtime::start(config(), profiles, store)).unwrap()
}

fn pages(c: &mut Criterion) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let mut list = c.benchmark_group("list_page");
    for size in SIZES {
        let runtime = start(&tokio, Arc::new(Preloaded(snapshot(size, 0))), ProfileSet::builtin());
        // A quarter in, so both sizes serve a full page.
        let query = ListQuery { after: Some(worker_id(size / 4)), limit: Some(PAGE) };
        list.throughput(Throughput::Elements(1));
        list.bench_with_input(BenchmarkId::from_parameter(size), &query, |b, q| {
            b.iter(|| black_box(runtime.list(q).now_or_never()))
        });
    }
    list.finish();

    let mut transcript = c.benchmark_group("transcript_page");
    for size in SIZES {
        let runtime = start(&tokio, Arc::new(Preloaded(snapshot(1, size))), ProfileSet::builtin());
        let query = TranscriptQuery { after: Some(size as u64 / 2), limit: Some(PAGE) };
        let worker = worker_id(0);
        transcript.throughput(Throughput::Elements(1));
        transcript.bench_with_input(BenchmarkId::from_parameter(size), &query, |b, q| {
            b.iter(|| black_box(runtime.transcript(&worker, *q).now_or_never()))
        });
    }
    transcript.finish();
}

/// Finishes every turn at once with an empty reply, so the bench measures the runtime, not an executor.
struct Instant0;

#[async_trait]
impl Executor for Instant0 {
    async fn run(&self, _turn: TurnContext, _output: &mut dyn TurnOutput) -> Result<(), ExecutorError> {
        Ok(())
    }
}

fn input_acks(c: &mut Criterion) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let mut profiles = ProfileSet::builtin();
    profiles.insert(Profile::new("instant", "instant", Arc::new(Instant0)));
    let runtime = start(&tokio, Arc::new(MemoryStore::new()), profiles);
    let workers: Vec<WorkerId> = tokio.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..1_000 {
            let request = CreateWorkerRequest { profile: Some("instant".into()), ..Default::default() };
            ids.push(runtime.create(request).await.unwrap().summary.worker_id);
        }
        ids
    });
    let next = AtomicUsize::new(0);
    let mut group = c.benchmark_group("input_ack");
    group.throughput(Throughput::Elements(1));
    group.bench_function("memory", |b| {
        b.iter_custom(|iterations| {
            tokio.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    let worker = &workers[next.fetch_add(1, Ordering::Relaxed) % workers.len()];
                    let input = InputRequest::user("ping").when_busy(WhenBusy::Queue);
                    // A worker still finishing its last turn may have a full queue; that is not an ack.
                    let _ = black_box(runtime.input(worker, input).await);
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = pages, input_acks
}
criterion_main!(benches);
