//! Wrong sign-in attempts, counted per client address: past a few in a minute, that address waits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Wrong tokens an address may send within [`WINDOW`] before it has to wait.
pub(super) const MAX_FAILURES: u32 = 5;
/// How long the failures of an address are remembered, from its first one.
pub(super) const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at once; past that, new addresses share one count, so a flood of addresses cannot
/// grow the table or escape the limit.
const MAX_TRACKED: usize = 4096;

/// The failures of one address.
#[derive(Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

/// Sign-in failures by client address (`None`: an unknown address, or the shared overflow count).
#[derive(Default)]
pub(super) struct Attempts {
    by_client: Mutex<HashMap<Option<IpAddr>, Failures>>,
}

impl Attempts {
    /// `Err(wait)` when `client` has failed too often and must wait that long before trying again.
    pub(super) fn check(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let by_client = self.by_client.lock();
        let key = if by_client.contains_key(&client) || by_client.len() < MAX_TRACKED { client } else { None };
        match by_client.get(&key) {
            Some(failures) if failures.count >= MAX_FAILURES => {
                let wait = (failures.since + WINDOW).saturating_duration_since(now);
                if wait.is_zero() { Ok(()) } else { Err(wait) }
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong token from `client`.
    pub(super) fn failed(&self, client: Option<IpAddr>, now: Instant) {
        let mut by_client = self.by_client.lock();
        if !by_client.contains_key(&client) && by_client.len() >= MAX_TRACKED {
            by_client.retain(|_, failures| now < failures.since + WINDOW);
        }
        let key = if by_client.contains_key(&client) || by_client.len() < MAX_TRACKED { client } else { None };
        let failures = by_client.entry(key).or_insert(Failures { since: now, count: 0 });
        if now >= failures.since + WINDOW {
            *failures = Failures { since: now, count: 0 };
        }
        failures.count += 1;
    }

    /// Forgets the failures of `client`, which has just signed in.
    pub(super) fn succeeded(&self, client: Option<IpAddr>) {
        self.by_client.lock().remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn an_address_waits_after_too_many_failures_and_only_that_address() {
        let attempts = Attempts::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(attempts.check(ip(1), start), Ok(()));
            attempts.failed(ip(1), start);
        }
        assert_eq!(attempts.check(ip(1), start + Duration::from_secs(10)), Err(WINDOW - Duration::from_secs(10)));
        assert_eq!(attempts.check(ip(2), start), Ok(()));
        assert_eq!(attempts.check(ip(1), start + WINDOW), Ok(()));
        // A new window starts with the next failure.
        attempts.failed(ip(1), start + WINDOW);
        assert_eq!(attempts.check(ip(1), start + WINDOW), Ok(()));
    }

    #[test]
    fn signing_in_forgets_the_failures() {
        let attempts = Attempts::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            attempts.failed(ip(1), now);
        }
        attempts.succeeded(ip(1));
        assert_eq!(attempts.check(ip(1), now), Ok(()));
    }

    #[test]
    fn a_flood_of_addresses_shares_one_count_and_the_table_stays_bounded() {
        let attempts = Attempts::default();
        let now = Instant::now();
        let many = (0..MAX_TRACKED as u32 + 10).map(|i| Some(IpAddr::from(i.to_be_bytes())));
        for client in many.clone() {
            attempts.failed(client, now);
        }
        assert!(attempts.by_client.lock().len() <= MAX_TRACKED + 1);
        let newcomer = Some(IpAddr::from([10, 9, 8, 7]));
        assert!(attempts.check(newcomer, now).is_err(), "the overflow count is past the limit");
    }
}
