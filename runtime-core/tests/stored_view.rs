//! A read-only view of stored workers answers every read exactly as the runtime that wrote them does: the
//! same pages, details, transcripts and counts, because both are built from the same projections.

mod support;

use std::sync::Arc;

use runtime_api::{InputRequest, LifecycleRequest, ListQuery, RuntimeId, TranscriptQuery, WorkerState};
use runtime_core::{Store, StoredView};
use support::{Outcome, ScriptedExecutor, TestStore, config, start, wait_for};

#[tokio::test]
async fn a_view_of_a_store_reads_like_the_runtime_that_wrote_it() {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, store.clone()).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let request = runtime_api::CreateWorkerRequest {
            profile: Some(if n % 2 == 0 { "scripted" } else { "fast" }.into()),
            title: Some(format!("worker {n}")),
            ..Default::default()
        };
        ids.push(runtime.create(request).await.unwrap().summary.worker_id);
    }
    for (turn, id) in (1..).zip([&ids[0], &ids[2]]) {
        runtime.input(id, InputRequest::user("hello")).await.unwrap();
        executor.finish(id, 1, Outcome::Complete(format!("reply {turn}"))).await;
        wait_for(&runtime, id, |d| d.summary.state == WorkerState::Idle).await;
    }
    runtime.input(&ids[1], InputRequest::user("echo me")).await.unwrap();
    wait_for(&runtime, &ids[1], |d| d.summary.state == WorkerState::Idle).await;
    runtime.stop(&ids[3], LifecycleRequest { reason: Some("done".into()) }).await.unwrap();

    let view = StoredView::new(store.load().unwrap(), RuntimeId::parse("test-runtime").unwrap(), "Test runtime");
    let mut after = None;
    loop {
        let query = ListQuery { after: after.clone(), limit: Some(2) };
        let (ours, theirs) = (view.list(&query), runtime.list(&query).await.unwrap());
        assert_eq!(ours, theirs);
        match ours.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    for id in &ids {
        assert_eq!(view.get(id).unwrap(), runtime.get(id).await.unwrap());
        let query = TranscriptQuery { after: Some(1), limit: Some(1) };
        assert_eq!(view.transcript(id, query).unwrap(), runtime.transcript(id, query).await.unwrap());
    }
    let (ours, theirs) = (view.summary(), runtime.summary());
    assert_eq!(ours.workers, theirs.workers, "the same counts by state");
    assert!(!ours.capabilities.create && !ours.capabilities.input, "but nothing can be commanded");
    assert_eq!(
        view.get(&runtime_api::WorkerId::parse("w-none").unwrap()).unwrap_err().code,
        runtime_api::ErrorCode::WorkerNotFound
    );
}
