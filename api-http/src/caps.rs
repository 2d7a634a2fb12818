//! Bounds on open event streams, in all and per client, so one client (or a crowd) cannot hold every
//! socket and subscription a server has.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use runtime_api::{ApiError, ErrorCode};

/// What a refused client is told to wait: streams are long-lived, so a place frees up on a human timescale.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// How many event streams may be open; refusals are `too_many_streams` (429, retryable).
#[derive(Clone)]
pub struct StreamCaps {
    shared: Arc<Shared>,
}

struct Shared {
    /// Most streams open at once.
    total: usize,
    /// Most streams one client address may hold.
    per_client: usize,
    /// The settings that raise the two bounds, named in refusals so an operator knows what to change.
    settings: [&'static str; 2],
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// One admitted stream; dropping it frees its place.
pub struct StreamPermit {
    shared: Arc<Shared>,
    client: Option<IpAddr>,
}

impl StreamCaps {
    /// At most `total` streams, and `per_client` from one address; `settings` names the configuration of
    /// each bound, for refusals.
    pub fn new(total: usize, per_client: usize, settings: [&'static str; 2]) -> Self {
        let shared = Shared { total: total.max(1), per_client: per_client.max(1), settings, open: Mutex::default() };
        StreamCaps { shared: Arc::new(shared) }
    }

    /// Takes a place for a stream of `client` (unknown when the server was not told peers' addresses, which
    /// then count only against the total).
    pub fn admit(&self, client: Option<IpAddr>) -> Result<StreamPermit, ApiError> {
        let shared = &self.shared;
        let [total_setting, client_setting] = shared.settings;
        let mut open = shared.open.lock();
        if open.total >= shared.total {
            let message = format!(
                "{} event streams are open, the most this server keeps ({total_setting}); close one or retry later",
                open.total
            );
            return Err(ApiError::new(ErrorCode::TooManyStreams, message).with_retry_after(RETRY_AFTER));
        }
        if let Some(client) = client {
            let mine = open.by_client.entry(client).or_default();
            if *mine >= shared.per_client {
                let message = format!(
                    "this client has {mine} event streams open, the most one client may hold ({client_setting}); \
                     close one or retry later"
                );
                return Err(ApiError::new(ErrorCode::TooManyStreams, message).with_retry_after(RETRY_AFTER));
            }
            *mine += 1;
        }
        open.total += 1;
        Ok(StreamPermit { shared: self.shared.clone(), client })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.shared.open.lock().total
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.shared.open.lock();
        open.total -= 1;
        if let Some(client) = self.client
            && let Some(count) = open.by_client.get_mut(&client)
        {
            *count -= 1;
            if *count == 0 {
                open.by_client.remove(&client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn each_bound_refuses_with_its_own_setting_and_freed_places_are_reused() {
        let caps = StreamCaps::new(3, 2, ["server.max_event_streams", "server.max_event_streams_per_client"]);
        let first = caps.admit(ip(1)).unwrap();
        let _second = caps.admit(ip(1)).unwrap();
        let per_client = caps.admit(ip(1)).err().unwrap();
        assert_eq!(per_client.code, ErrorCode::TooManyStreams);
        assert!(per_client.message.contains("server.max_event_streams_per_client"), "{}", per_client.message);
        let _third = caps.admit(ip(2)).unwrap();
        let total = caps.admit(ip(3)).err().unwrap();
        assert!(total.message.contains("(server.max_event_streams)"), "{}", total.message);
        drop(first);
        assert_eq!(caps.open(), 2);
        assert!(caps.admit(ip(1)).is_ok(), "a closed stream frees its client's place");
    }
}
