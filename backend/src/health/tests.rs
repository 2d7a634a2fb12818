//! The monitor and the circuit, driven by a switchable source on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use runtime_api::{ApiError, ErrorCode, RuntimeId};

use super::*;
use crate::registry::{Registered, RuntimeRegistry};
use crate::stack::{Sanitizer, StackSettings};
use crate::testing::{Behaviour, SwitchSource};

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

fn registry() -> RuntimeRegistry {
    RuntimeRegistry::new(StackSettings::default(), Arc::new(Metrics::new()))
}

async fn registered(registry: &RuntimeRegistry, source: &Arc<SwitchSource>) -> Arc<Registered> {
    let entry = registry.register(source.clone(), Sanitizer::new()).unwrap();
    let first = entry.monitor().unwrap().settled(Duration::from_secs(60)).await;
    assert_eq!(first.status, HealthState::Ready, "{first:?}");
    entry
}

fn unavailable() -> ApiError {
    ApiError::new(ErrorCode::RuntimeUnavailable, "runtime dev cannot be reached: the connection was refused")
}

/// Lets every task that is ready run, on the paused clock, for `span`.
async fn after(span: Duration) {
    tokio::time::sleep(span).await;
}

#[tokio::test(start_paused = true)]
async fn a_source_that_dies_fails_fast_once_noticed_and_heals_alone() {
    let registry = registry();
    let source = SwitchSource::new("dev");
    let entry = registered(&registry, &source).await;
    source.set(Behaviour::Failing(unavailable()));

    // The first call meets the failure itself, and wakes the monitor.
    assert_eq!(entry.summary().await.unwrap_err().code, ErrorCode::RuntimeUnavailable);
    after(HealthSettings::default().backoff_first + Duration::from_millis(1)).await;
    let health = entry.monitor().unwrap().view();
    assert_eq!((health.status, health.failing_fast), (HealthState::Unavailable, true), "{health:?}");

    // Now calls fail at once, without reaching the source, and say when to come back.
    let reached = source.calls();
    let started = tokio::time::Instant::now();
    let refused = entry.list(Default::default()).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(source.calls(), reached, "a call to a source known down goes nowhere");
    assert_eq!(refused.code, ErrorCode::RuntimeUnavailable);
    assert!(refused.retry_after_s.is_some_and(|s| (1..=5).contains(&s.get())), "{refused:?}");
    assert!(refused.message.contains("the connection was refused"), "{}", refused.message);

    // It comes back: the next probe closes the circuit, with no restart and no call needed.
    source.set(Behaviour::Healthy);
    after(HealthSettings::default().backoff_max * 2).await;
    assert_eq!(entry.monitor().unwrap().view().status, HealthState::Ready);
    assert!(entry.list(Default::default()).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_hung_source_is_unavailable_after_one_probe_timeout() {
    let registry = registry();
    let source = SwitchSource::new("dev");
    let entry = registered(&registry, &source).await;
    source.set(Behaviour::Hung);
    // Nobody calls it: the steady probe alone finds out.
    after(HealthSettings::default().interval + PROBE_TIMEOUT + Duration::from_millis(1)).await;
    let health = entry.monitor().unwrap().view();
    assert_eq!(health.status, HealthState::Unavailable);
    assert_eq!(health.last_error.map(|e| e.code), Some(ErrorCode::RuntimeTimeout));
    let started = tokio::time::Instant::now();
    assert_eq!(
        entry.get(runtime_api::WorkerId::parse("w-1").unwrap()).await.unwrap_err().code,
        ErrorCode::RuntimeUnavailable
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "no call waits on a runtime known to hang");
}

#[tokio::test(start_paused = true)]
async fn a_runtime_that_refuses_credentials_is_unavailable_but_keeps_its_own_error() {
    let registry = registry();
    let source = SwitchSource::new("dev");
    let entry = registered(&registry, &source).await;
    source.set(Behaviour::Failing(ApiError::new(ErrorCode::RuntimeAuthFailed, "runtime dev refused the token")));
    after(HealthSettings::default().interval + Duration::from_millis(1)).await;
    let health = entry.monitor().unwrap().view();
    assert_eq!((health.status, health.failing_fast), (HealthState::Unavailable, false));
    // Failing fast would hide the reason behind runtime_unavailable; the runtime answers quickly anyway.
    assert_eq!(entry.summary().await.unwrap_err().code, ErrorCode::RuntimeAuthFailed);
}

#[tokio::test(start_paused = true)]
async fn probes_back_off_while_failing_and_keep_a_steady_pace_while_healthy() {
    let registry = registry();
    let source = SwitchSource::new("dev");
    let _entry = registered(&registry, &source).await;
    let healthy = source.calls();
    after(Duration::from_millis(50_001)).await;
    assert_eq!(source.calls() - healthy, 10, "one probe every 5 s");

    source.set(Behaviour::Failing(unavailable()));
    let failing = source.calls();
    after(Duration::from_secs(60)).await;
    // 0.25 + 0.5 + 1 + 2 + 4 s (each up to a quarter more), then every 5 to 6.25 s; each probe retries its
    // summary through nothing, so a probe is one call.
    let probes = source.calls() - failing;
    assert!((13..=17).contains(&probes), "{probes} probes in a minute of failure");
}

#[tokio::test(start_paused = true)]
async fn a_removed_source_is_no_longer_probed() {
    let registry = registry();
    let source = SwitchSource::new("dev");
    let entry = registered(&registry, &source).await;
    registry.remove(entry.runtime_id()).unwrap();
    drop(entry);
    let calls = source.calls();
    after(Duration::from_secs(60)).await;
    assert_eq!(source.calls(), calls);
    assert!(registry.get(&RuntimeId::parse("dev").unwrap()).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_fails_after_a_call_succeeded_does_not_open_the_circuit() {
    let registry = registry();
    let source = SwitchSource::new("dev");
    let entry = registered(&registry, &source).await;
    // The steady probe meets a hang; the source recovers while the probe waits, and a call succeeds.
    source.set(Behaviour::Hung);
    after(HealthSettings::default().interval + Duration::from_millis(1)).await;
    source.set(Behaviour::Healthy);
    assert!(entry.summary().await.is_ok());
    after(PROBE_TIMEOUT).await;

    let health = entry.monitor().unwrap().view();
    assert_eq!(health.last_error.map(|e| e.code), Some(ErrorCode::RuntimeTimeout), "the failure is kept");
    assert_eq!((health.status, health.failing_fast), (HealthState::Ready, false), "but it is overruled");
    assert!(entry.list(Default::default()).await.is_ok());

    // Without a call since it began, the next failed probe opens the circuit as ever.
    source.set(Behaviour::Failing(unavailable()));
    after(HealthSettings::default().interval + Duration::from_millis(1)).await;
    let health = entry.monitor().unwrap().view();
    assert_eq!((health.status, health.failing_fast), (HealthState::Unavailable, true), "{health:?}");
}

#[tokio::test(start_paused = true)]
async fn a_call_that_succeeds_after_the_circuit_opened_closes_it() {
    let registry = registry();
    let source = SwitchSource::new("dev");
    let entry = registered(&registry, &source).await;
    // A slow call is admitted; then the source fails, and a probe opens the circuit while the call waits.
    source.set(Behaviour::Slow(Duration::from_secs(1)));
    let slow = tokio::spawn({
        let entry = entry.clone();
        async move { entry.summary().await }
    });
    after(Duration::from_millis(10)).await;
    source.set(Behaviour::Failing(unavailable()));
    entry.suspect();
    after(HealthSettings::default().backoff_first).await;
    assert!(entry.monitor().unwrap().view().failing_fast, "the probe opened the circuit");

    // The call gets its answer: the source answered after the probes failed, so calls go through again,
    // and the monitor goes back to its healthy pace instead of backing off.
    assert!(slow.await.unwrap().is_ok());
    let health = entry.monitor().unwrap().view();
    assert_eq!((health.status, health.failing_fast), (HealthState::Degraded, false), "{health:?}");
    source.set(Behaviour::Healthy);
    let probed = source.calls();
    assert!(entry.list(Default::default()).await.is_ok());
    let interval = HealthSettings::default().interval;
    after(interval - Duration::from_millis(100)).await;
    assert_eq!(source.calls(), probed + 1, "no backoff probe, only the call");
    after(Duration::from_millis(200)).await;
    assert_eq!(entry.monitor().unwrap().view().status, HealthState::Ready, "the next probe confirms it");
}
