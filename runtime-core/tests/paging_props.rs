//! Property: pages are exact slices, limits are clamped, and walking pages yields everything once.

mod support;

use futures::FutureExt;
use proptest::prelude::*;
use runtime_api::limits::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use runtime_api::{ListQuery, TranscriptQuery, WorkerId};
use runtime_core::{ProfileSet, Runtime};
use support::{TestStore, config, preloaded};

fn runtime(workers: usize, entries: usize) -> (tokio::runtime::Runtime, Runtime) {
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = TestStore::with_records(preloaded(workers, entries));
    let runtime = tokio.block_on(Runtime::start(config(), ProfileSet::builtin(), store)).unwrap();
    (tokio, runtime)
}

fn expected_limit(limit: Option<u32>) -> u32 {
    limit.map_or(DEFAULT_PAGE_LIMIT, |l| l.clamp(1, MAX_PAGE_LIMIT))
}

fn limit() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![Just(None), Just(Some(0)), (1u32..40).prop_map(Some), Just(Some(u32::MAX))]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_transcript_page_is_the_slice_after_the_cursor(entries in (0usize..60).prop_map(|turns| turns * 2), after in proptest::option::of(0u64..140), limit in limit()) {
        let (_tokio, runtime) = runtime(1, entries);
        let worker = WorkerId::parse("w-00000000").unwrap();
        let page = runtime.transcript(&worker, TranscriptQuery { after, limit }).now_or_never().unwrap().unwrap();
        let effective = expected_limit(limit);
        let start = after.unwrap_or(0).min(entries as u64);
        let end = (start + u64::from(effective)).min(entries as u64);
        prop_assert_eq!(page.limit, effective);
        prop_assert_eq!(page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (start + 1..=end).collect::<Vec<_>>());
        prop_assert_eq!(page.next_after, (end < entries as u64).then_some(end));
        prop_assert_eq!(page.last_seq, entries as u64);
    }

    #[test]
    fn walking_worker_pages_lists_every_worker_once_in_order(workers in 0usize..150, limits in proptest::collection::vec(limit(), 1..8)) {
        let (_tokio, runtime) = runtime(workers, 0);
        let mut seen: Vec<WorkerId> = Vec::new();
        let mut after = None;
        for step in 0.. {
            let limit = limits[step % limits.len()];
            let page = runtime.list(&ListQuery { after: after.clone(), limit }).now_or_never().unwrap().unwrap();
            prop_assert_eq!(page.limit, expected_limit(limit));
            prop_assert!(page.workers.len() <= page.limit as usize);
            seen.extend(page.workers.into_iter().map(|w| w.worker_id));
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let all: Vec<WorkerId> = (0..workers).map(|w| WorkerId::parse(format!("w-{w:08}")).unwrap()).collect();
        prop_assert_eq!(seen, all);
    }
}
