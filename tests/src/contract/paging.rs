//! Bounded paging of worker lists and transcripts.

use runtime_api::limits::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use runtime_api::{InputRequest, ListQuery, TranscriptQuery, WorkerId};

use super::support::{Source, completes, new_worker, subscribe};

pub(crate) async fn worker_list_pages_are_bounded_and_complete(source: Source) {
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(new_worker(&source, "fast").await);
    }
    let mut seen: Vec<WorkerId> = Vec::new();
    let mut after = None;
    loop {
        let page = source.list(ListQuery { after: after.clone(), limit: Some(3) }).await.expect("list");
        assert_eq!(page.limit, 3);
        assert!(page.workers.len() <= 3);
        seen.extend(page.workers.into_iter().map(|w| w.worker_id));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, created, "pages are in creation order, without gaps or repeats");

    let first = source.list(ListQuery { after: None, limit: Some(0) }).await.expect("list");
    assert_eq!((first.limit, first.workers.len()), (1, 1));
    let clamped = source.list(ListQuery { after: None, limit: Some(u32::MAX) }).await.expect("list");
    assert_eq!(clamped.limit, MAX_PAGE_LIMIT);
    let default = source.list(ListQuery::default()).await.expect("list");
    assert_eq!(default.limit, DEFAULT_PAGE_LIMIT);
    let past_end = ListQuery { after: created.last().cloned(), limit: None };
    let last = source.list(past_end).await.expect("list");
    assert!(last.workers.is_empty() && last.next_after.is_none());
}

pub(crate) async fn transcript_pages_are_bounded_and_complete(source: Source) {
    let worker = new_worker(&source, "fast").await;
    let mut frames = subscribe(&source, Some(&worker), None).await;
    for turn in 1..=5u64 {
        source.input(&worker, InputRequest::user(format!("message {turn}"))).await.expect("input");
        frames.events_until(|e| completes(e, &worker, turn)).await;
    }
    let mut seqs = Vec::new();
    let mut sizes = Vec::new();
    let mut after = None;
    loop {
        let page = source.transcript(&worker, TranscriptQuery { after, limit: Some(3) }).await.expect("page");
        assert_eq!((page.limit, page.last_seq), (3, 10));
        sizes.push(page.entries.len());
        seqs.extend(page.entries.iter().map(|e| e.seq));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 3, 1]);
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());

    let past_end = source.transcript(&worker, TranscriptQuery { after: Some(1_000), limit: None }).await.expect("page");
    assert!(past_end.entries.is_empty() && past_end.next_after.is_none());
    let clamped =
        source.transcript(&worker, TranscriptQuery { after: None, limit: Some(u32::MAX) }).await.expect("page");
    assert_eq!((clamped.limit, clamped.entries.len()), (MAX_PAGE_LIMIT, 10));
    let one = source.transcript(&worker, TranscriptQuery { after: Some(4), limit: Some(0) }).await.expect("page");
    assert_eq!((one.limit, one.entries[0].seq, one.next_after), (1, 5, Some(5)));
}
