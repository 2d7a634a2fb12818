//! The probe loop: ask for the summary, record what came back, wait the right time, again.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use runtime_api::ApiError;
use tokio::time::Instant;

use super::{HealthSettings, Monitor, means_down};
use crate::stack::{SourceRequest, SourceResponse, SourceStack};

/// The stack a monitor probes through: the source's own steps (deadline, error mapping, sanitizing) without
/// its circuit, which would refuse the probe that is meant to close it, and without the call diagnostics.
pub type ProbeStack = SourceStack;

/// Probes until the monitor is stopped.
pub(super) async fn run(monitor: Arc<Monitor>, probe: ProbeStack) {
    let settings = monitor.settings;
    let mut failed = 0u32;
    loop {
        let started = Instant::now();
        monitor.probe_begins();
        let outcome = summary(&monitor, &probe, settings.probe_timeout).await;
        let latency = started.elapsed();
        let pause = match outcome {
            Err(error) if means_down(error.code) && monitor.answered_since_probe_began() => {
                failed = 0;
                monitor.record_overruled(error, settings.interval);
                settings.interval
            }
            outcome => {
                failed = if outcome.is_ok() { 0 } else { failed.saturating_add(1) };
                let pause = if failed == 0 { settings.interval } else { backoff(&settings, failed) };
                monitor.record(outcome, latency, pause);
                pause
            }
        };
        let mut next = Instant::now() + pause;
        loop {
            tokio::select! {
                () = monitor.stop.cancelled() => return,
                () = tokio::time::sleep_until(next) => break,
                () = monitor.wake.notified() => {
                    // A burst of failing calls rings many times; one early probe answers them all.
                    tokio::time::sleep_until(started + settings.backoff_first).await;
                    break;
                }
                () = monitor.healed.notified() => {
                    // A call's answer closed the circuit: no more backoff (unless a probe opened it again since).
                    if !monitor.failing_fast() {
                        failed = 0;
                        next = Instant::now() + settings.interval;
                    }
                }
            }
        }
        if monitor.stop.is_cancelled() {
            return;
        }
    }
}

/// One probe: the summary within `limit`.
async fn summary(
    monitor: &Monitor,
    probe: &ProbeStack,
    limit: Duration,
) -> Result<runtime_api::RuntimeSummary, ApiError> {
    match tokio::time::timeout(limit, probe.call(SourceRequest::Summary)).await {
        Ok(Ok(SourceResponse::Summary(summary))) => Ok(summary),
        Ok(Ok(_)) => Err(ApiError::internal().with_runtime(monitor.runtime_id.clone())),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ApiError::timed_out(&monitor.runtime_id, limit)),
    }
}

/// The pause after `failed` failed probes in a row: doubling from the first backoff up to the maximum, with
/// up to a quarter more at random, so monitors of runtimes that failed together do not probe together.
fn backoff(settings: &HealthSettings, failed: u32) -> Duration {
    let doubled = settings.backoff_first.saturating_mul(1 << failed.saturating_sub(1).min(16));
    let pause = doubled.min(settings.backoff_max);
    let random = RandomState::new().hash_one(std::time::Instant::now()) % 1000;
    pause + pause.mul_f64(random as f64 / 4000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_bounded_jitter() {
        let settings = HealthSettings::default();
        let within = |failed, low: u64| {
            let pause = backoff(&settings, failed);
            let low = Duration::from_millis(low);
            assert!(pause >= low && pause <= low.mul_f64(1.25), "{failed}: {pause:?}");
        };
        within(1, 250);
        within(2, 500);
        within(3, 1000);
        within(5, 4000);
        within(6, 5000);
        within(40, 5000);
    }
}
