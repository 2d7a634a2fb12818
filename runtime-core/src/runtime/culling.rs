//! Idle culling (like Jupyter's `cull_idle_timeout`): a worker that stayed idle for the configured time is
//! stopped with reason `idle_timeout`, recorded durably like any stop. Off unless configured.

use std::sync::{Arc, Weak};
use std::time::Duration;

use runtime_api::WorkerState;

use super::Core;
use crate::worker::Worker;

/// The reason a culled worker's stop records.
pub(crate) const IDLE_TIMEOUT: &str = "idle_timeout";

/// Starts the sweep: every tenth of `idle` (between 10 ms and 30 s), idle workers past `idle` are stopped.
/// It ends with the runtime.
pub(super) fn spawn(core: Weak<Core>, idle: Duration) {
    let tick = (idle / 10).clamp(Duration::from_millis(10), Duration::from_secs(30));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let shutdown = match core.upgrade() {
                Some(core) => core.shutdown.clone(),
                None => return,
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let Some(core) = core.upgrade() else { return };
            let workers: Vec<Arc<Worker>> = core.workers.read().values().cloned().collect();
            for worker in workers {
                cull(&core, &worker, idle);
            }
        }
    });
}

/// Stops `worker` if it has been idle for `idle`; checked again under its lock, so a worker that just got
/// input is left alone.
fn cull(core: &Core, worker: &Worker, idle: Duration) {
    let mut inner = worker.inner.lock();
    if inner.state != WorkerState::Idle || inner.last_activity.elapsed() < idle {
        return;
    }
    let Ok(mut tx) = core.log.begin(&worker.id, Some(inner.state)) else { return };
    match inner.stop(&mut tx, Some(IDLE_TIMEOUT.to_owned())) {
        Ok(_) => {
            inner.commit(tx);
            tracing::info!(runtime_id = %core.config.runtime_id, worker_id = %worker.id, "stopped an idle worker");
        }
        Err(error) => tracing::warn!(worker_id = %worker.id, %error, "could not stop an idle worker"),
    }
}
