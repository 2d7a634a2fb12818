//! What the backend remembers about each source's health, kept by a monitor that probes it in the
//! background: a steady interval while it answers, jittered exponential backoff while it does not.
//!
//! Callers never wait on a source known to be down. While the last probe failed at the transport level
//! (refused, reset, no answer, not the protocol) the source's circuit is open: calls fail at once with
//! `runtime_unavailable` and a `Retry-After` of the time to the next probe, which is the half-open trial —
//! the first probe that answers closes the circuit and lets traffic back. A call that fails at the
//! transport level wakes the monitor, so a source that just died is noticed within one probe.
//!
//! A call's success counts as an answer, as a probe's does. A failed probe is overruled when a call
//! succeeded after the probe began (its connection died just then, say), and a call admitted before the
//! circuit opened that then succeeds closes it again: either way the source answered more recently than the
//! probe failed.

mod probe;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use runtime_api::{ApiError, ErrorCode, RuntimeId, RuntimeStatus, RuntimeSummary, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::metrics::Metrics;
pub use probe::ProbeStack;

/// How a source is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSettings {
    /// Between probes while the source answers.
    pub interval: Duration,
    /// Pause after the first failed probe; doubled (with jitter) after each further one.
    pub backoff_first: Duration,
    /// Longest pause between probes of a failing source.
    pub backoff_max: Duration,
    /// How long a probe may take before it counts as a failure.
    pub probe_timeout: Duration,
}

/// A probe every 5 s while healthy; while failing, after 0.25 s, 0.5 s, 1 s … up to 5 s, so a runtime that
/// comes back is in use again within seconds. A probe gets 2 s, the budget of an aggregate view.
impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            interval: Duration::from_secs(5),
            backoff_first: Duration::from_millis(250),
            backoff_max: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(2),
        }
    }
}

/// A source's condition as the monitor last found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Not probed yet.
    Unknown,
    /// It answered, and says it is ready.
    Ready,
    /// It answered, but slowly or saying it is degraded.
    Degraded,
    /// It did not answer usably.
    Unavailable,
}

impl HealthState {
    /// Every state, for metrics.
    pub const ALL: [HealthState; 4] =
        [HealthState::Unknown, HealthState::Ready, HealthState::Degraded, HealthState::Unavailable];

    /// The state as a label.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Ready => "ready",
            HealthState::Degraded => "degraded",
            HealthState::Unavailable => "unavailable",
        }
    }

    /// The runtime status a view shows for this state (unknown counts as unavailable until it answers).
    pub const fn runtime_status(self) -> RuntimeStatus {
        match self {
            HealthState::Ready => RuntimeStatus::Ready,
            HealthState::Degraded => RuntimeStatus::Degraded,
            HealthState::Unknown | HealthState::Unavailable => RuntimeStatus::Unavailable,
        }
    }
}

/// What the monitor knows, as `/api/runtimes` and the Settings page show it; sanitized like every answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthView {
    /// The condition found by the last probe.
    pub status: HealthState,
    /// Why it is degraded or unavailable, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When a probe last got an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_ok_at: Option<Timestamp>,
    /// When the last probe ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub checked_at: Option<Timestamp>,
    /// How long the last probe took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// The last failed probe's error, kept after recovery so an operator can see what happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ApiError>,
    /// Probes failed in a row (0 once one answers).
    pub failed_probes: u32,
    /// Whether calls fail at once because the source is known down.
    pub failing_fast: bool,
}

impl HealthView {
    fn unknown() -> Self {
        HealthView {
            status: HealthState::Unknown,
            reason: None,
            last_ok_at: None,
            checked_at: None,
            latency_ms: None,
            last_error: None,
            failed_probes: 0,
            failing_fast: false,
        }
    }
}

/// Whether an error says the source cannot be reached or does not speak HTTP sensibly — the failures that
/// make its calls fail fast — rather than that it refused or rejected something (auth, protocol version),
/// which its calls still report in their own words.
pub fn means_down(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::RuntimeUnavailable | ErrorCode::RuntimeTimeout | ErrorCode::RuntimeProtocolError)
}

/// One source's health: what the probes found, and the circuit that follows from it.
pub struct Monitor {
    runtime_id: RuntimeId,
    settings: HealthSettings,
    metrics: Arc<Metrics>,
    known: Mutex<Known>,
    /// Rung by calls that failed as if the source were down: probe now.
    wake: Notify,
    /// Set when a call succeeds, cleared as each probe begins: whether the source answered since.
    answered: AtomicBool,
    /// `view.failing_fast`, readable without the lock by every call.
    open: AtomicBool,
    /// Rung when a call's success closed the circuit: the failure backoff is over.
    healed: Notify,
    /// Counts finished probes, so a view can wait for the first.
    probes: watch::Sender<u64>,
    stop: CancellationToken,
}

struct Known {
    view: HealthView,
    /// The summary of the last probe that answered.
    summary: Option<RuntimeSummary>,
    /// When the next probe runs.
    next_probe: Instant,
}

impl Monitor {
    /// A monitor of `runtime_id` that has not probed yet; [`Monitor::start`] sets it going.
    pub fn new(runtime_id: RuntimeId, settings: HealthSettings, metrics: Arc<Metrics>) -> Arc<Self> {
        let known = Known { view: HealthView::unknown(), summary: None, next_probe: Instant::now() };
        metrics.record_health(runtime_id.as_str(), HealthState::Unknown, None);
        Arc::new(Monitor {
            runtime_id,
            settings,
            metrics,
            known: Mutex::new(known),
            wake: Notify::new(),
            answered: AtomicBool::new(false),
            open: AtomicBool::new(false),
            healed: Notify::new(),
            probes: watch::channel(0).0,
            stop: CancellationToken::new(),
        })
    }

    /// Starts probing through `probe` (the source's stack without its circuit), at once and then for as
    /// long as the monitor is not stopped. Must run inside tokio.
    pub fn start(self: &Arc<Self>, probe: ProbeStack) {
        tokio::spawn(probe::run(self.clone(), probe));
    }

    /// Stops probing; used when the source leaves the registry.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// What is known now.
    pub fn view(&self) -> HealthView {
        self.known.lock().view.clone()
    }

    /// The summary of the last probe that answered, if any.
    pub fn last_summary(&self) -> Option<RuntimeSummary> {
        self.known.lock().summary.clone()
    }

    /// What is known once the first probe has finished, or after `budget`, whichever comes first.
    pub async fn settled(&self, budget: Duration) -> HealthView {
        let mut probes = self.probes.subscribe();
        let _ = tokio::time::timeout(budget, probes.wait_for(|done| *done > 0)).await;
        self.view()
    }

    /// `Ok` when calls may go to the source; `runtime_unavailable` at once while it is known down.
    pub fn admit(&self) -> Result<(), ApiError> {
        if !self.open.load(Ordering::Relaxed) {
            return Ok(());
        }
        let known = self.known.lock();
        if !known.view.failing_fast {
            return Ok(());
        }
        let cause = known.view.last_error.as_ref().map_or("it does not answer", |e| e.message.as_str());
        let wait = known.next_probe.saturating_duration_since(Instant::now());
        let message = format!(
            "runtime {} is unavailable (the backend checks it again within {}s): {cause}",
            self.runtime_id,
            wait.as_secs() + 1
        );
        Err(ApiError::new(ErrorCode::RuntimeUnavailable, message)
            .with_runtime(self.runtime_id.clone())
            .with_retry_after(wait))
    }

    /// Whether calls are refused now because the source is known down.
    pub fn failing_fast(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// Tells the monitor a call failed as if the source were down: it probes without waiting its turn.
    pub fn suspect(&self) {
        self.wake.notify_one();
    }

    /// Tells the monitor a call succeeded. (A typed error may have been made on this side, so only success
    /// counts.)
    pub fn answered(&self) {
        // Read first: the flag's cache line stays shared while it is already set, as it is between probes.
        if !self.answered.load(Ordering::Relaxed) {
            self.answered.store(true, Ordering::Relaxed);
        }
        if self.open.load(Ordering::Relaxed) {
            self.close_on_answer();
        }
    }

    /// Closes the circuit after a call admitted before it opened succeeded; the next probe, at the healthy
    /// pace, says how the source really is.
    fn close_on_answer(&self) {
        let mut known = self.known.lock();
        if !known.view.failing_fast {
            return;
        }
        self.set_failing_fast(&mut known.view, false);
        known.view.status = HealthState::Degraded;
        known.view.reason = Some("a call got an answer after the last probe failed".to_owned());
        known.next_probe = Instant::now() + self.settings.interval;
        drop(known);
        self.metrics.record_health(self.runtime_id.as_str(), HealthState::Degraded, None);
        tracing::info!(runtime_id = %self.runtime_id, "a call got an answer: calls go through again");
        self.healed.notify_one();
    }

    /// Opens or closes the circuit: in the view, and in the flag calls read without the lock (`view` is the
    /// one behind that lock, held by the caller).
    fn set_failing_fast(&self, view: &mut HealthView, failing_fast: bool) {
        view.failing_fast = failing_fast;
        self.open.store(failing_fast, Ordering::Relaxed);
    }

    /// Forgets earlier answers, as a probe begins.
    fn probe_begins(&self) {
        self.answered.store(false, Ordering::Relaxed);
    }

    /// Whether a call got an answer since the current probe began.
    fn answered_since_probe_began(&self) -> bool {
        self.answered.load(Ordering::Relaxed)
    }

    /// Records a failed probe that a call's answer overtook: its error is kept for the operator, but the
    /// status and the circuit stay as they were, and probing goes on at the healthy pace.
    fn record_overruled(&self, error: ApiError, pause: Duration) {
        tracing::debug!(runtime_id = %self.runtime_id, %error, "a probe failed, but a call got an answer since it began");
        let mut known = self.known.lock();
        known.view.last_error = Some(error);
        known.next_probe = Instant::now() + pause;
        drop(known);
        self.probes.send_modify(|done| *done += 1);
    }

    /// Records a probe's outcome; `pause` is the time until the next one.
    fn record(&self, outcome: Result<RuntimeSummary, ApiError>, latency: Duration, pause: Duration) {
        let now = Timestamp::now();
        let latency_ms = latency.as_secs_f64() * 1000.0;
        let mut known = self.known.lock();
        let before = known.view.status;
        let view = &mut known.view;
        view.checked_at = Some(now);
        view.latency_ms = Some(latency_ms);
        match outcome {
            Ok(summary) => {
                view.last_ok_at = Some(now);
                view.failed_probes = 0;
                self.set_failing_fast(view, summary.status == RuntimeStatus::Unavailable);
                (view.status, view.reason) = match summary.status {
                    RuntimeStatus::Unavailable => {
                        (HealthState::Unavailable, Some("the runtime says it is unavailable".to_owned()))
                    }
                    RuntimeStatus::Degraded => {
                        (HealthState::Degraded, Some("the runtime says it is degraded".to_owned()))
                    }
                    RuntimeStatus::Ready if latency * 2 > self.settings.probe_timeout => {
                        (HealthState::Degraded, Some(format!("it answers slowly ({latency_ms:.0} ms)")))
                    }
                    RuntimeStatus::Ready => (HealthState::Ready, None),
                };
                known.summary = Some(summary);
            }
            Err(error) => {
                view.failed_probes += 1;
                self.set_failing_fast(view, means_down(error.code));
                view.status = HealthState::Unavailable;
                view.reason = Some(error.message.clone());
                view.last_error = Some(error);
            }
        }
        known.next_probe = Instant::now() + pause;
        let (after, reason) = (known.view.status, known.view.reason.clone());
        drop(known);
        self.metrics.record_health(self.runtime_id.as_str(), after, Some(latency));
        if after != before {
            let reason = reason.as_deref().unwrap_or("");
            match after {
                HealthState::Ready => tracing::info!(runtime_id = %self.runtime_id, "runtime is ready"),
                _ => {
                    tracing::warn!(runtime_id = %self.runtime_id, status = after.as_str(), reason, "runtime health changed")
                }
            }
        }
        self.probes.send_modify(|done| *done += 1);
    }
}

#[cfg(test)]
mod tests;
