//! The fs store on a real disk: crash recovery, atomic batches, checkpoints, retention, the lock and the
//! read-only reader.

#[path = "fs_store/script.rs"]
mod script;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use runtime_core::Store;
use runtime_core::store::StoreError;
use runtime_core::store::fs::{FsOptions, FsStore, read_snapshot};
use script::{
    Script, append_all, append_raw, data_dir, every_line_parses, expected, journal, journal_is_fresh, lines, listing,
};

const RETENTION: usize = 10_000;

fn open(dir: &std::path::Path) -> FsStore {
    FsStore::open(dir, FsOptions::default()).expect("store opens")
}

/// Workers 1..=3, each created and given three inputs.
fn history(script: &mut Script) -> Vec<Vec<runtime_core::store::Record>> {
    let mut batches = Vec::new();
    for n in 1..=3 {
        batches.push(script.create(n));
    }
    for round in 1..=3 {
        for n in 1..=3 {
            batches.push(script.input(n, &format!("input {round} for worker {n}")));
        }
    }
    batches
}

#[tokio::test]
async fn a_store_dropped_without_close_keeps_every_acknowledged_batch() {
    let dir = data_dir();
    let mut script = Script::new();
    let batches = history(&mut script);
    let store = open(dir.path());
    let log_id = store.load().unwrap().log_id;
    assert!(log_id.starts_with("fs-"), "{log_id}");
    append_all(&store, &batches).await;
    drop(store);
    assert!(journal(dir.path()).iter().any(|s| std::fs::metadata(s).unwrap().len() > 0), "the journal holds them");

    let store = open(dir.path());
    assert_eq!(store.load().unwrap(), expected(&batches, &log_id, RETENTION));
    assert!(journal_is_fresh(dir.path()), "open checkpoints what the dropped store left");
    assert!(dir.path().join("workers/w-0003/meta.json").is_file());
    store.close().await.unwrap();
    assert!(journal(dir.path()).is_empty(), "close checkpoints the whole journal");
    assert_eq!(read_snapshot(dir.path(), RETENTION).unwrap(), expected(&batches, &log_id, RETENTION));
}

#[tokio::test]
async fn a_torn_last_journal_line_is_dropped_and_earlier_batches_stay_intact() {
    let dir = data_dir();
    let mut script = Script::new();
    let mut batches = history(&mut script);
    let store = open(dir.path());
    let log_id = store.load().unwrap().log_id;
    append_all(&store, &batches).await;
    drop(store);
    let segment = journal(dir.path()).pop().unwrap();
    append_raw(&segment, br#"{"records":[{"record":"worker","worker_id":"w-00"#);

    let store = open(dir.path());
    assert_eq!(store.load().unwrap(), expected(&batches, &log_id, RETENTION));
    assert!(journal_is_fresh(dir.path()), "open checkpoints what the crashed process left");
    every_line_parses(dir.path());
    // The store goes on, and a later restart still reads everything.
    let more = vec![script.create(4), script.input(4, "after the crash")];
    append_all(&store, &more).await;
    store.close().await.unwrap();
    batches.extend(more);
    assert_eq!(open(dir.path()).load().unwrap(), expected(&batches, &log_id, RETENTION));
}

#[tokio::test]
async fn a_partial_batch_at_the_end_of_the_journal_loads_none_of_its_records() {
    let dir = data_dir();
    let log_id = {
        let store = open(dir.path());
        let log_id = store.load().unwrap().log_id;
        store.close().await.unwrap();
        log_id
    };
    let mut script = Script::new();
    let whole = script.create(1);
    let mut cut = script.create(2);
    cut.extend(script.input(2, "never acknowledged"));
    let line = |batch: &Vec<_>| format!(r#"{{"records":{}}}"#, serde_json::to_string(batch).unwrap());
    let cut_line = line(&cut);
    // The cut falls after the second worker's record: a store that applied records one by one would
    // bring back a worker that was never acknowledged.
    let after_worker = cut_line.find(r#"{"record":"event""#).unwrap() + 5;
    let journal_text = format!("{}\n{}", line(&whole), &cut_line[..after_worker]);
    std::fs::write(dir.path().join("journal/00000000000000000001.jsonl"), journal_text).unwrap();

    let store = open(dir.path());
    let loaded = store.load().unwrap();
    assert_eq!(loaded, expected(&[whole], &log_id, RETENTION));
    assert_eq!(loaded.workers.len(), 1);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_torn_transcript_tail_is_cut_off_on_open_and_the_transcript_goes_on() {
    let dir = data_dir();
    let mut script = Script::new();
    let mut batches = history(&mut script);
    let store = open(dir.path());
    let log_id = store.load().unwrap().log_id;
    append_all(&store, &batches).await;
    store.close().await.unwrap();
    let transcript = dir.path().join("workers/w-0001/transcript.jsonl");
    let intact = std::fs::metadata(&transcript).unwrap().len();
    append_raw(&transcript, br#"{"seq":4,"role":"user","cont"#);

    let store = open(dir.path());
    assert_eq!(std::fs::metadata(&transcript).unwrap().len(), intact, "open cuts the torn line");
    assert_eq!(store.load().unwrap(), expected(&batches, &log_id, RETENTION));
    let more = vec![script.input(1, "fourth")];
    append_all(&store, &more).await;
    store.close().await.unwrap();
    batches.extend(more);
    assert_eq!(lines(&transcript).len(), 4);
    assert_eq!(read_snapshot(dir.path(), RETENTION).unwrap(), expected(&batches, &log_id, RETENTION));
}

#[tokio::test]
async fn checkpoints_move_the_journal_into_worker_and_event_files() {
    let dir = data_dir();
    let options = FsOptions { checkpoint_bytes: 1, events_per_file: 4, ..FsOptions::default() };
    let mut script = Script::new();
    let batches = history(&mut script);
    let store = FsStore::open(dir.path(), options.clone()).unwrap();
    let log_id = store.load().unwrap().log_id;
    append_all(&store, &batches).await;
    // Every group fills a segment; wait until only the writer's new, empty segment is left.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !journal_is_fresh(dir.path()) {
        assert!(std::time::Instant::now() < deadline, "checkpoints never caught up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(store.stats().checkpoints > 0);
    assert_eq!(lines(&dir.path().join("workers/w-0002/transcript.jsonl")).len(), 3);
    assert!(dir.path().join("workers/w-0002/meta.json").is_file());
    let event_files = std::fs::read_dir(dir.path().join("events")).unwrap().count();
    assert_eq!(event_files, 3, "12 events, 4 per file");
    drop(store);

    let store = FsStore::open(dir.path(), options).unwrap();
    assert_eq!(store.load().unwrap(), expected(&batches, &log_id, RETENTION));
    store.close().await.unwrap();
}

#[tokio::test]
async fn replaying_an_already_checkpointed_segment_adds_nothing_twice() {
    let dir = data_dir();
    let mut script = Script::new();
    let batches = history(&mut script);
    let store = open(dir.path());
    let log_id = store.load().unwrap().log_id;
    append_all(&store, &batches).await;
    drop(store);
    // Keep a copy of the journal, as a crash after a checkpoint's file writes but before it deleted the
    // segment would leave it.
    let segment = journal(dir.path()).pop().unwrap();
    let copy = std::fs::read(&segment).unwrap();
    open(dir.path()).close().await.unwrap();
    assert!(journal(dir.path()).is_empty());
    std::fs::write(&segment, copy).unwrap();

    let store = open(dir.path());
    assert_eq!(store.load().unwrap(), expected(&batches, &log_id, RETENTION));
    store.close().await.unwrap();
    assert_eq!(lines(&dir.path().join("workers/w-0003/transcript.jsonl")).len(), 3);
    let events: usize =
        std::fs::read_dir(dir.path().join("events")).unwrap().map(|f| lines(&f.unwrap().path()).len()).sum();
    assert_eq!(events, 12);
    assert_eq!(read_snapshot(dir.path(), RETENTION).unwrap(), expected(&batches, &log_id, RETENTION));
}

#[tokio::test]
async fn old_event_files_are_deleted_past_retention_and_evicted_through_survives_a_restart() {
    let dir = data_dir();
    let options = FsOptions { event_retention: 6, events_per_file: 4, ..FsOptions::default() };
    let mut script = Script::new();
    let mut batches = vec![script.create(1)];
    batches.extend((2..=30).map(|_| script.event_only(1)));
    let store = FsStore::open(dir.path(), options.clone()).unwrap();
    let log_id = store.load().unwrap().log_id;
    append_all(&store, &batches).await;
    store.close().await.unwrap();

    // Events 1..=30 in files of four: dropping whole files leaves 25..=28 and 29..=30.
    let mut files: Vec<_> =
        std::fs::read_dir(dir.path().join("events")).unwrap().map(|e| e.unwrap().file_name()).collect();
    files.sort();
    assert_eq!(files, ["00000000000000000025.jsonl", "00000000000000000029.jsonl"]);
    let store_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("store.json")).unwrap()).unwrap();
    assert_eq!(store_file["evicted_through"], 24);

    let store = FsStore::open(dir.path(), options).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded, expected(&batches, &log_id, 6));
    assert_eq!((loaded.evicted_through, loaded.events.first().map(|e| e.seq)), (24, Some(25)));
    batches.push(script.event_only(1));
    append_all(&store, &batches[30..]).await;
    store.close().await.unwrap();
    let reread = read_snapshot(dir.path(), 6).unwrap();
    assert_eq!(reread, expected(&batches, &log_id, 6));
    assert_eq!(reread.evicted_through, 25);
}

#[tokio::test]
async fn a_directory_in_use_is_refused_until_its_store_is_closed() {
    let dir = data_dir();
    let first = open(dir.path());
    assert!(matches!(FsStore::open(dir.path(), FsOptions::default()), Err(StoreError::Locked)));
    first.close().await.unwrap();
    let second = open(dir.path());
    assert!(matches!(FsStore::open(dir.path(), FsOptions::default()), Err(StoreError::Locked)));
    drop(second);
    open(dir.path()).close().await.unwrap();
}

#[tokio::test]
async fn the_log_id_stays_the_same_for_the_directory() {
    let dir = data_dir();
    let store = open(dir.path());
    let log_id = store.load().unwrap().log_id;
    store.close().await.unwrap();
    assert_eq!(open(dir.path()).load().unwrap().log_id, log_id);
    let other = data_dir();
    assert_ne!(open(other.path()).load().unwrap().log_id, log_id);
}

#[tokio::test]
async fn read_snapshot_reads_a_directory_in_use_without_changing_it() {
    let dir = data_dir();
    let mut script = Script::new();
    let mut batches = history(&mut script);
    let store = open(dir.path());
    let log_id = store.load().unwrap().log_id;
    append_all(&store, &batches).await;
    store.close().await.unwrap();
    // Some data in the worker files, some only in the journal of a store that is still open.
    let store = open(dir.path());
    let more = vec![script.create(4), script.input(4, "only in the journal"), script.input(1, "also")];
    append_all(&store, &more).await;
    batches.extend(more);
    let segment = journal(dir.path()).pop().unwrap();
    append_raw(&segment, br#"{"records":[{"rec"#);

    let before = listing(dir.path());
    let snapshot = read_snapshot(dir.path(), RETENTION).unwrap();
    assert_eq!(listing(dir.path()), before, "the reader wrote nothing");
    assert_eq!(snapshot, expected(&batches, &log_id, RETENTION));
    drop(store);

    let missing = dir.path().join("not-a-store");
    assert!(read_snapshot(&missing, RETENTION).is_err());
    assert!(!missing.exists(), "the reader creates nothing");
}

#[tokio::test]
async fn appends_after_close_fail_with_closed() {
    let dir = data_dir();
    let store = open(dir.path());
    store.close().await.unwrap();
    let mut script = Script::new();
    assert!(matches!(store.append(script.create(1)).wait().await, Err(StoreError::Closed)));
    store.close().await.expect("closing twice is harmless");
}

#[tokio::test]
async fn tickets_resolve_in_append_order() {
    let dir = data_dir();
    let mut script = Script::new();
    let store = open(dir.path());
    let tickets: Vec<_> = (1..=200).map(|n| store.append(script.create(n))).collect();
    tickets.last().unwrap().clone().wait().await.unwrap();
    // Unconstrained: tokio's cooperative budget would otherwise report ready tickets as pending.
    tokio::task::unconstrained(async {
        for ticket in tickets {
            let outcome = futures::FutureExt::now_or_never(ticket.wait());
            assert!(matches!(outcome, Some(Ok(()))), "an earlier batch was still pending");
        }
    })
    .await;
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_corrupt_line_before_the_last_is_reported_with_its_relative_path() {
    let dir = data_dir();
    let mut script = Script::new();
    let store = open(dir.path());
    append_all(&store, &history(&mut script)).await;
    store.close().await.unwrap();
    let transcript = dir.path().join("workers/w-0002/transcript.jsonl");
    let mut text = lines(&transcript);
    text[1] = "not json".into();
    std::fs::write(&transcript, text.join("\n") + "\n").unwrap();

    for error in [
        read_snapshot(dir.path(), RETENTION).unwrap_err(),
        FsStore::open(dir.path(), FsOptions::default()).unwrap_err(),
    ] {
        let message = error.to_string();
        assert!(matches!(error, StoreError::Corrupt(_)), "{message}");
        assert!(message.contains("workers/w-0002/transcript.jsonl line 2"), "{message}");
        assert!(!message.contains(&*dir.path().to_string_lossy()), "{message}");
    }
}

#[tokio::test]
async fn a_directory_that_lost_its_store_file_is_refused() {
    let dir = data_dir();
    let mut script = Script::new();
    let store = open(dir.path());
    append_all(&store, &[script.create(1)]).await;
    store.close().await.unwrap();
    std::fs::remove_file(dir.path().join("store.json")).unwrap();
    let error = FsStore::open(dir.path(), FsOptions::default()).unwrap_err();
    assert!(error.to_string().contains("store.json is missing"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_snapshot_sees_every_acknowledged_batch_while_checkpoints_run() {
    let dir = data_dir();
    let options =
        FsOptions { checkpoint_bytes: 2_048, events_per_file: 8, event_retention: 40, ..FsOptions::default() };
    let store = FsStore::open(dir.path(), options.clone()).unwrap();
    let mut script = Script::new();
    append_all(&store, &[script.create(1)]).await;
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, acked, stop) = (dir.path().to_path_buf(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Acquire) {
                let before = acked.load(Ordering::Acquire);
                let snapshot = read_snapshot(&path, 40).expect("a concurrent read succeeds");
                let transcript = &snapshot.workers[0].transcript;
                assert!(transcript.len() as u64 >= before, "an acknowledged entry is missing");
                assert!(snapshot.events.len() <= 40);
                reads += 1;
            }
            reads
        })
    };
    for n in 1..=1_500 {
        append_all(&store, &[script.input(1, &format!("entry {n}"))]).await;
        acked.store(n, Ordering::Release);
    }
    stop.store(true, Ordering::Release);
    let reads = reader.join().unwrap();
    assert!(reads > 0 && store.stats().checkpoints > 0, "{reads} reads, {:?}", store.stats());
    store.close().await.unwrap();
}
