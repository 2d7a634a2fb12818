//! Circuit: calls to a source known to be down fail at once, calls that fail as if it were down make the
//! health monitor look now, and calls that succeed tell it so.
//!
//! Runs around the typed call (errors are SPEC §5 codes by then) and inside sanitizing, which scrubs the
//! refusal like any other error. The monitor ([`crate::health`]) decides when the circuit opens and closes.

use runtime_api::ApiError;

use super::SourceResponse;
use crate::health::{Monitor, means_down};

/// Tells `monitor` how a call it admitted ([`Monitor::admit`]) went.
pub(super) fn observe(monitor: &Monitor, result: &Result<SourceResponse, ApiError>) {
    match result {
        Ok(_) => monitor.answered(),
        Err(error) if means_down(error.code) => monitor.suspect(),
        Err(_) => {}
    }
}
