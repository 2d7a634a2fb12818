//! Running a turn: the task that drives an executor, and the sink that publishes its output.

use std::sync::Arc;

use runtime_api::EventBody;

use crate::executor::TurnOutput;
use crate::runtime::Core;
use crate::store::Durable;
use crate::worker::Worker;
use crate::worker::machine::TurnStart;

/// Runs a started turn on its own task.
///
/// The task waits until the input that started the turn is durable, so a turn's output never outruns the
/// input that caused it. Cancelling the turn's token drops the executor's future at its next await.
pub(crate) fn spawn(core: Arc<Core>, worker: Arc<Worker>, start: TurnStart, input_durable: Durable) {
    tokio::spawn(async move {
        let TurnStart { turn_id, context, executor, cancel } = start;
        if input_durable.wait().await.is_err() {
            // The store failed; the runtime refuses changes from now on and a restart marks the turn
            // interrupted.
            return;
        }
        let mut sink = TurnSink { core: &core, worker: &worker, turn_id, text: String::new() };
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            outcome = executor.run(context, &mut sink) => outcome,
        };
        let text = sink.text;
        core.finish_turn(&worker, turn_id, outcome.map(|()| text));
    });
}

/// Publishes an executor's deltas as `turn_delta` events and keeps the full text for the transcript.
struct TurnSink<'a> {
    core: &'a Core,
    worker: &'a Worker,
    turn_id: u64,
    text: String,
}

impl TurnOutput for TurnSink<'_> {
    fn delta(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut inner = self.worker.inner.lock();
        // Checked under the worker lock, so no delta can follow its turn's cancellation.
        if inner.current.as_ref().map(|t| t.turn_id) != Some(self.turn_id) {
            return;
        }
        let Ok(mut tx) = self.core.log.begin(&self.worker.id, Some(inner.state)) else {
            return;
        };
        tx.event(EventBody::TurnDelta { turn_id: self.turn_id, delta: text.to_owned() });
        inner.commit(tx);
        drop(inner);
        self.text.push_str(text);
    }
}
