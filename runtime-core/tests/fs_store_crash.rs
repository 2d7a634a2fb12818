//! `kill -9` a process writing to an fs store at random moments, with checkpoints running all the time, and
//! check that every acknowledged batch comes back and no file is left unreadable.
//!
//! The writer is this test binary itself, started again with `FS_STORE_CRASH_DIR` set: then only
//! `crash_child_writes_until_killed` does anything.

#[path = "fs_store/script.rs"]
mod script;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use runtime_core::Store;
use runtime_core::store::fs::{FsOptions, FsStore, read_snapshot};
use script::{Script, data_dir, every_line_parses, worker};

const CHILD_DIR: &str = "FS_STORE_CRASH_DIR";
const CHILD_ROUND: &str = "FS_STORE_CRASH_ROUND";
const WRITERS: usize = 8;

/// Tiny segments and event files, so that checkpoints and retention run all the time.
fn options() -> FsOptions {
    FsOptions { event_retention: 50, checkpoint_bytes: 4_096, events_per_file: 16, ..FsOptions::default() }
}

#[test]
fn crash_child_writes_until_killed() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) else { return };
    let round: usize = round.parse().unwrap();
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    tokio.block_on(async move {
        let store = Arc::new(FsStore::open(Path::new(&dir), options()).unwrap());
        let loaded = store.load().unwrap();
        let highest = loaded.events.last().map_or(0, |e| e.seq).max(loaded.reserved_through);
        let sequencer = Arc::new(Mutex::new(Script::after(highest)));
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (store, sequencer) = (store.clone(), sequencer.clone());
            let n = round * 100 + w;
            tasks.push(tokio::spawn(async move {
                let ticket = {
                    let mut script = sequencer.lock();
                    store.append(script.create(n))
                };
                ticket.wait().await.unwrap();
                for seq in 1.. {
                    let ticket = {
                        let mut script = sequencer.lock();
                        store.append(script.input(n, &format!("entry {seq} of worker {n}")))
                    };
                    ticket.wait().await.unwrap();
                    println!("acked {n} {seq}");
                    if Instant::now() > deadline {
                        return;
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn a_store_killed_at_random_moments_loses_nothing_acknowledged() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let dir = data_dir();
    let mut acked: Vec<(usize, u64)> = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child_writes_until_killed", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (first_ack, writing) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("acked ") {
                    let (n, seq) = rest.split_once(' ').unwrap();
                    acks.push((n.parse::<usize>().unwrap(), seq.parse::<u64>().unwrap()));
                    let _ = first_ack.send(());
                }
            }
            acks
        });
        // Killed at a random moment of its writing, not of its start-up: a loaded machine may take long to
        // start the child, and a kill before its first write would test nothing.
        writing.recv_timeout(Duration::from_secs(60)).expect("the child starts writing");
        std::thread::sleep(Duration::from_millis(seed % 400));
        child.kill().unwrap();
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        assert!(!acks.is_empty(), "round {round}: the child acknowledged nothing before it was killed");
        acked.extend(acks);

        // The killed directory reads the same with and without its owner's repairs.
        let read = read_snapshot(dir.path(), options().event_retention).unwrap();
        let store = FsStore::open(dir.path(), options()).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(read, loaded, "round {round}: read_snapshot differs from open + load");
        every_line_parses(dir.path());
        for &(n, seq) in &acked {
            let stored = loaded.workers.iter().find(|w| w.record.worker_id == worker(n));
            let entry = stored.and_then(|w| w.transcript.get(seq as usize - 1));
            assert_eq!(
                entry.map(|e| e.content.as_str()),
                Some(format!("entry {seq} of worker {n}").as_str()),
                "round {round}: acknowledged entry lost"
            );
        }
        assert!(loaded.events.windows(2).all(|w| w[0].seq < w[1].seq), "round {round}: events out of order");
        assert!(loaded.events.len() <= options().event_retention);
        drop(store);
    }
    println!("{} acknowledged entries survived 8 kills", acked.len());
}
