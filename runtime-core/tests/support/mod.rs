//! Helpers for runtime-core's tests; the test doubles themselves live in `tests::doubles`.
#![allow(dead_code, unreachable_pub)]

pub use tests::doubles::*;

#[cfg(feature = "openai")]
pub mod openai;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{Event, FrameStream, RuntimeId, StreamFrame, SubscribeRequest, WorkerDetail, WorkerId};
use runtime_core::{Profile, ProfileSet, Runtime, RuntimeConfig, Store};

pub fn config() -> RuntimeConfig {
    RuntimeConfig::new(RuntimeId::parse("test-runtime").unwrap(), "Test runtime")
}

/// Profiles `default` (echo) and `scripted`.
pub fn profiles(executor: &Arc<ScriptedExecutor>) -> ProfileSet {
    let mut profiles =
        ProfileSet::from_toml("[[profiles]]\nname = \"fast\"\nexecutor = \"echo\"\nchunk_delay_ms = 0\n").unwrap();
    profiles.insert(Profile::new("scripted", "scripted", executor.clone()));
    profiles
}

pub async fn start(config: RuntimeConfig, executor: &Arc<ScriptedExecutor>, store: Arc<dyn Store>) -> Runtime {
    Runtime::start(config, profiles(executor), store).await.expect("runtime starts")
}

/// [`start`] with the `scripted` profile given these history bounds.
pub async fn start_bounded(executor: &Arc<ScriptedExecutor>, bounds: runtime_core::HistoryBounds) -> Runtime {
    let mut set = profiles(executor);
    set.insert(Profile::new("scripted", "scripted", executor.clone()).with_history(bounds));
    Runtime::start(config(), set, Arc::new(runtime_core::MemoryStore::new())).await.expect("runtime starts")
}

/// Polls a worker until `done` holds.
pub async fn wait_for(runtime: &Runtime, worker: &WorkerId, done: impl Fn(&WorkerDetail) -> bool) -> WorkerDetail {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let detail = runtime.get(worker).await.unwrap();
        if done(&detail) {
            return detail;
        }
        assert!(tokio::time::Instant::now() < deadline, "worker never reached the expected state: {detail:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub fn subscribe(runtime: &Runtime, after: Option<u64>) -> FrameStream {
    runtime.subscribe(SubscribeRequest { after, worker_id: None }).unwrap()
}

pub async fn next(stream: &mut FrameStream) -> StreamFrame {
    tokio::time::timeout(WAIT, stream.next()).await.expect("frame in time").expect("stream open")
}

/// Frames that are already waiting, without blocking for more.
pub async fn drain_ready(stream: &mut FrameStream) -> Vec<StreamFrame> {
    let mut frames = Vec::new();
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(50), stream.next()).await {
        frames.push(frame);
    }
    frames
}

pub fn events(frames: &[StreamFrame]) -> Vec<Event> {
    frames
        .iter()
        .filter_map(|f| match f {
            StreamFrame::Event { event } => Some(event.clone()),
            _ => None,
        })
        .collect()
}
