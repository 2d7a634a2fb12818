//! Unit tests of the fs store's parts: journal lines, the torn-line rules and the writer's failure path.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc;

use runtime_api::{Event, EventBody, Role, Timestamp, TranscriptEntry, WorkerId, WorkerState};
use tokio::sync::oneshot;

use super::checkpoint::ToCheckpointer;
use super::layout::{JOURNAL, Layout};
use super::lines::{self, Tail};
use super::scan::read_segment;
use super::writer::{Counters, ToWriter, Writer};
use crate::store::{Record, StoreError, WorkerRecord};

fn records() -> Vec<Record> {
    let worker_id = WorkerId::parse("w-01").unwrap();
    let at = Timestamp::UNIX_EPOCH;
    let entry = TranscriptEntry::new(1, Role::User, "line\nbreak \"quoted\"".into(), at, Some(1));
    let event = Event {
        seq: 3,
        at,
        worker_id: worker_id.clone(),
        state: WorkerState::Busy,
        body: EventBody::TurnStarted { turn_id: 1 },
    };
    vec![
        Record::SeqReserved { through: 65_539 },
        Record::Worker(WorkerRecord {
            worker_id: worker_id.clone(),
            title: Some("title".into()),
            profile: "default".into(),
            executor: "echo".into(),
            model: Some("m".into()),
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            created_at: at,
            end: None,
        }),
        Record::Transcript { worker_id, entry },
        Record::Event(Arc::new(event)),
    ]
}

/// Writes `bytes` to a fresh file and reads it back as JSON numbers.
fn read_numbers(bytes: &[u8]) -> (Result<Tail, StoreError>, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbers.jsonl");
    File::create(&path).unwrap().write_all(bytes).unwrap();
    let mut seen = Vec::new();
    let tail = lines::read::<u64>(File::open(&path).unwrap(), "events/numbers.jsonl", |n| {
        seen.push(n);
        Ok(())
    });
    (tail, seen)
}

#[test]
fn every_record_kind_round_trips_through_the_journal_as_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    std::fs::create_dir(layout.path(JOURNAL)).unwrap();
    let (to_checkpointer, _from_writer) = mpsc::channel();
    let writer = Writer::create(layout.clone(), 7, true, u64::MAX, Arc::default(), to_checkpointer).unwrap();
    let (to_writer, from_store) = mpsc::channel();
    let thread = std::thread::spawn(move || writer.run(from_store));
    let (ticket, done) = oneshot::channel();
    to_writer.send(ToWriter::Batch(records(), ticket)).unwrap();
    drop(to_writer);
    thread.join().unwrap();
    assert!(done.blocking_recv().unwrap().is_ok());

    let path = layout.path(&Layout::segment(7));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches('\n').count(), 1, "a batch is exactly one line: {text}");
    let mut read = Vec::new();
    read_segment(File::open(&path).unwrap(), 7, |record| {
        read.push(record);
        Ok(())
    })
    .unwrap();
    assert_eq!(read, records());
}

#[test]
fn a_last_line_without_its_newline_is_dropped() {
    let (tail, seen) = read_numbers(b"1\n2\n3");
    assert_eq!(tail.unwrap(), Tail { good_len: 4, torn: true, lines: 2 });
    assert_eq!(seen, [1, 2]);
}

#[test]
fn an_unreadable_last_line_is_dropped_as_torn() {
    let (tail, seen) = read_numbers(b"1\n2\n\0\0\0\n");
    assert_eq!(tail.unwrap(), Tail { good_len: 4, torn: true, lines: 2 });
    assert_eq!(seen, [1, 2]);
}

#[test]
fn an_unreadable_line_before_the_last_is_corruption_named_by_relative_path() {
    let (tail, _) = read_numbers(b"1\nx\n3\n");
    let Err(StoreError::Corrupt(message)) = tail else { panic!("expected corruption, got {tail:?}") };
    assert!(message.starts_with("events/numbers.jsonl line 2:"), "{message}");
}

#[test]
fn a_clean_file_reports_no_tear() {
    let (tail, seen) = read_numbers(b"1\n2\n");
    assert_eq!(tail.unwrap(), Tail { good_len: 4, torn: false, lines: 2 });
    assert_eq!(seen, [1, 2]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_journal_write_fails_the_group_and_every_later_batch() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    std::fs::create_dir(layout.path(JOURNAL)).unwrap();
    // Writes to /dev/full fail with "no space left on device".
    std::os::unix::fs::symlink("/dev/full", layout.path(&Layout::segment(1))).unwrap();
    let counters = Arc::new(Counters::default());
    let (to_checkpointer, from_writer) = mpsc::channel();
    let writer = Writer::create(layout, 1, true, u64::MAX, counters, to_checkpointer).unwrap();
    let (to_writer, from_store) = mpsc::channel();
    let thread = std::thread::spawn(move || writer.run(from_store));

    let mut results = Vec::new();
    for _ in 0..3 {
        let (ticket, done) = oneshot::channel();
        to_writer.send(ToWriter::Batch(records(), ticket)).unwrap();
        results.push(done);
    }
    let (reply, _closed) = oneshot::channel();
    to_writer.send(ToWriter::Close(reply)).unwrap();
    thread.join().unwrap();
    for done in results {
        assert!(matches!(done.blocking_recv().unwrap(), Err(StoreError::Io { .. })));
    }
    let Ok(ToCheckpointer::Final { writer_error, .. }) = from_writer.recv() else { panic!("expected the close") };
    assert!(writer_error.is_some(), "the checkpointer must leave a failed journal alone");
}
