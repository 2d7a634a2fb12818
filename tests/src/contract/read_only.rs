//! The contract of a read-only view (local-compat): reads of seeded data work, every command is refused
//! with `unsupported`.

use std::sync::Arc;

use runtime_api::{
    CreateWorkerRequest, ErrorCode, InputRequest, LifecycleRequest, ListQuery, Role, RuntimeSource, SubscribeRequest,
    TranscriptQuery, WorkerId, WorkerState,
};

use super::support::{Source, completes, expect_error, new_worker, subscribe, transcript};

/// How many workers [`seed`] creates.
pub const SEEDED_WORKERS: usize = 7;

/// Puts the data the read-only checks expect into a writable source: seven `fast` workers; the first ran
/// five turns (`message 1` … `message 5`), the second was stopped with reason `done`.
pub async fn seed(source: &Arc<dyn RuntimeSource>) {
    let mut workers = Vec::new();
    for _ in 0..SEEDED_WORKERS {
        workers.push(new_worker(source, "fast").await);
    }
    let mut frames = subscribe(source, Some(&workers[0]), None).await;
    for turn in 1..=5u64 {
        source.input(&workers[0], InputRequest::user(format!("message {turn}"))).await.expect("input");
        frames.events_until(|e| completes(e, &workers[0], turn)).await;
    }
    let reason = LifecycleRequest { reason: Some("done".into()) };
    source.stop(&workers[1], reason).await.expect("stop");
}

async fn seeded(source: &Source) -> Vec<WorkerId> {
    let page = source.list(ListQuery { after: None, limit: None }).await.expect("list");
    assert_eq!(page.workers.len(), SEEDED_WORKERS, "the view holds the seeded workers");
    page.workers.into_iter().map(|w| w.worker_id).collect()
}

pub(crate) async fn a_view_is_read_only_and_counts_its_workers(source: Source) {
    let summary = source.summary().await.expect("summary");
    let caps = &summary.capabilities;
    assert!(caps.read && caps.transcript);
    assert!(!caps.create && !caps.input && !caps.lifecycle && !caps.events);
    assert_eq!((summary.workers.total, summary.workers.stopped), (SEEDED_WORKERS as u64, 1));
    assert!(summary.protocol.is_compatible());
}

pub(crate) async fn a_view_pages_workers_and_transcripts(source: Source) {
    let all = seeded(&source).await;
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = source.list(ListQuery { after: after.clone(), limit: Some(3) }).await.expect("list");
        assert!(page.workers.len() <= 3);
        paged.extend(page.workers.into_iter().map(|w| w.worker_id));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, all);

    let entries = transcript(&source, &all[0]).await;
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    assert_eq!((entries[8].role, entries[8].content.as_str()), (Role::User, "message 5"));
    assert_eq!((entries[9].role, entries[9].content.as_str()), (Role::Assistant, "[echo] message 5"));
    let page = source.transcript(&all[0], TranscriptQuery { after: Some(8), limit: Some(1) }).await.expect("page");
    assert_eq!((page.entries[0].seq, page.next_after, page.last_seq), (9, Some(9), 10));

    let stopped = source.get(&all[1]).await.expect("get");
    assert_eq!((stopped.summary.state, stopped.end_reason.as_deref()), (WorkerState::Stopped, Some("done")));
    let busy_one = source.get(&all[0]).await.expect("get");
    assert_eq!((busy_one.summary.state, busy_one.summary.transcript_len), (WorkerState::Idle, 10));
}

pub(crate) async fn a_view_answers_unknown_ids_and_refuses_every_command(source: Source) {
    let all = seeded(&source).await;
    let missing = WorkerId::parse("w-00000000000000000000000000").unwrap();
    expect_error(source.get(&missing), ErrorCode::WorkerNotFound).await;
    expect_error(source.transcript(&missing, TranscriptQuery::default()), ErrorCode::WorkerNotFound).await;

    let worker = &all[0];
    let refusals = [
        expect_error(source.create(CreateWorkerRequest::default()), ErrorCode::Unsupported).await,
        expect_error(source.input(worker, InputRequest::user("hi")), ErrorCode::Unsupported).await,
        expect_error(source.stop(worker, LifecycleRequest::default()), ErrorCode::Unsupported).await,
        expect_error(source.cancel(worker, LifecycleRequest::default()), ErrorCode::Unsupported).await,
    ];
    for refusal in refusals {
        assert_eq!(refusal.code.http_status(), 501);
    }
    match source.subscribe(SubscribeRequest::default()).await {
        Err(error) => assert_eq!(error.code, ErrorCode::Unsupported),
        Ok(_) => panic!("a read-only view has no event stream"),
    }
    let after = transcript(&source, worker).await;
    assert_eq!(after.len(), 10, "nothing changed");
}

pub(crate) async fn a_view_lists_the_profiles_its_workers_name(source: Source) {
    let list = source.profiles().await.expect("profiles");
    let shape: Vec<_> =
        list.profiles.iter().map(|p| (p.name.as_str(), p.executor.as_str(), p.model.as_deref())).collect();
    assert_eq!(shape, [("fast", "echo", None)], "only what the seeded records name");
}
