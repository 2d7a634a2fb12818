//! Reading JSON-lines files the way a crash or a concurrent writer may leave them.
//!
//! A line counts once its newline is written. The last line of a file may be torn (no newline yet, or cut
//! short by a crash): it is dropped. An interrupted append leaves damage only at the end, and a store repairs
//! a torn tail before it appends again, so an unreadable line before the last is reported as corruption
//! instead of being skipped.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use serde::de::DeserializeOwned;

use super::layout::io_error;
use crate::store::StoreError;

/// How a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tail {
    /// Bytes up to and including the newline of the last whole line.
    pub(super) good_len: u64,
    /// Whether bytes after that were dropped.
    pub(super) torn: bool,
    /// Whole lines read.
    pub(super) lines: u64,
}

/// Reads every whole line of `file` (named `rel` in errors) as a `T` and hands it to `each`.
pub(super) fn read<T: DeserializeOwned>(
    file: File,
    rel: &str,
    mut each: impl FnMut(T) -> Result<(), StoreError>,
) -> Result<Tail, StoreError> {
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut tail = Tail { good_len: 0, torn: false, lines: 0 };
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(|e| io_error(format!("cannot read {rel}"), e))?;
        if read == 0 {
            return Ok(tail);
        }
        if line.last() != Some(&b'\n') {
            tail.torn = true;
            return Ok(tail);
        }
        match serde_json::from_slice::<T>(&line[..read - 1]) {
            Ok(value) => {
                each(value)?;
                tail.good_len += read as u64;
                tail.lines += 1;
            }
            Err(error) => {
                if at_end(&mut reader).map_err(|e| io_error(format!("cannot read {rel}"), e))? {
                    tail.torn = true;
                    return Ok(tail);
                }
                return Err(StoreError::Corrupt(format!("{rel} line {}: {error}", tail.lines + 1)));
            }
        }
    }
}

fn at_end(reader: &mut BufReader<File>) -> io::Result<bool> {
    Ok(reader.fill_buf()?.is_empty())
}
