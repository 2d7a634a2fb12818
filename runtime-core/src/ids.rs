//! Worker ids: `w-` and a lowercase ULID, strictly increasing within a runtime so that id order is
//! creation order and a worker list page is a range scan.

use parking_lot::Mutex;
use runtime_api::WorkerId;
use ulid::Ulid;

const PREFIX: &str = "w-";

/// Hands out worker ids, each greater than every id handed out or loaded before.
pub(crate) struct WorkerIds {
    last: Mutex<Ulid>,
}

impl WorkerIds {
    /// A generator whose ids sort after every existing one.
    pub(crate) fn after<'a>(existing: impl IntoIterator<Item = &'a WorkerId>) -> Self {
        let last = existing
            .into_iter()
            .filter_map(|id| id.as_str().strip_prefix(PREFIX))
            .filter_map(|ulid| Ulid::from_string(ulid).ok())
            .max()
            .unwrap_or(Ulid::nil());
        WorkerIds { last: Mutex::new(last) }
    }

    /// The next id.
    pub(crate) fn next(&self) -> WorkerId {
        let mut last = self.last.lock();
        let now = Ulid::new();
        // Within one millisecond (or if the clock stepped back) count up from the last id instead.
        let id = if now > *last { now } else { last.increment().unwrap_or(now) };
        *last = id;
        WorkerId::parse(format!("{PREFIX}{}", id.to_string().to_lowercase())).expect("a ulid is a valid worker id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_pass_over_loaded_ones() {
        let ids = WorkerIds::after([]);
        let mut previous = ids.next();
        for _ in 0..10_000 {
            let next = ids.next();
            assert!(next > previous, "{next} after {previous}");
            previous = next;
        }
        let future = WorkerId::parse(format!("{PREFIX}7zzzzzzzzzzzzzzzzzzzzzzzzy")).unwrap();
        let ids = WorkerIds::after([&future]);
        assert!(ids.next() > future);
    }
}
