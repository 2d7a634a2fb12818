//! Running a turn: the task that drives an executor, and the sink that publishes its output.

use std::sync::Arc;

use runtime_api::EventBody;

use crate::executor::{ReplyFacts, TurnOutput};
use crate::runtime::Core;
use crate::store::Durable;
use crate::worker::machine::TurnStart;
use crate::worker::{RunningTurn, Worker, WorkerInner};

/// Runs a started turn on its own task.
///
/// The task waits until the input that started the turn is durable, so a turn's output never outruns the
/// input that caused it. Cancelling the turn's token drops the executor's future at its next await, and
/// with it whatever the executor holds open (a provider's HTTP request closes at once).
pub(crate) fn spawn(core: Arc<Core>, worker: Arc<Worker>, start: TurnStart, input_durable: Durable) {
    tokio::spawn(async move {
        let TurnStart { turn_id, context, executor, cancel } = start;
        if input_durable.wait().await.is_err() {
            // The store failed; the runtime refuses changes from now on and a restart marks the turn
            // interrupted.
            return;
        }
        let mut sink = TurnSink { core: &core, worker: &worker, turn_id };
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            outcome = executor.run(context, &mut sink) => outcome,
        };
        core.finish_turn(&worker, turn_id, outcome);
    });
}

/// Publishes an executor's deltas as `turn_delta` events and keeps its reply on the running turn, where a
/// cancel or a failure finds it.
struct TurnSink<'a> {
    core: &'a Core,
    worker: &'a Worker,
    turn_id: u64,
}

impl TurnSink<'_> {
    /// The running turn, if it is still this sink's; checked under the worker lock, so nothing is written
    /// after the turn's cancellation.
    fn running<'i>(&self, inner: &'i mut WorkerInner) -> Option<&'i mut RunningTurn> {
        inner.current.as_mut().filter(|t| t.turn_id == self.turn_id)
    }
}

impl TurnOutput for TurnSink<'_> {
    fn delta(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut inner = self.worker.inner.lock();
        if self.running(&mut inner).is_none() {
            return;
        }
        let Ok(mut tx) = self.core.log.begin(&self.worker.id, Some(inner.state)) else {
            return;
        };
        tx.event(EventBody::TurnDelta { turn_id: self.turn_id, delta: text.to_owned() });
        inner.commit(tx);
        if let Some(running) = self.running(&mut inner) {
            running.push(text);
        }
    }

    fn note(&mut self, facts: ReplyFacts) {
        let mut inner = self.worker.inner.lock();
        if let Some(running) = self.running(&mut inner) {
            running.note(facts);
        }
    }
}
