//! The worker state machine of SPEC §3: every transition, each made within one event-log transaction.
//!
//! Functions here change the in-memory worker and add the matching transcript entries, records and events
//! to the caller's [`Tx`]; they never wait. The caller commits, releases the worker lock, and only then
//! spawns any turn a transition started.

use std::sync::Arc;

use runtime_api::{
    ApiError, CancelAck, CancelOutcome, ErrorCode, EventBody, InputAck, InputDisposition, InputKind, InputRequest,
    Role, StopAck, StopOutcome, TurnOutcome, WhenBusy, WorkerState,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{QueuedTurn, Reply, RunningTurn, WorkerInner};
use crate::events::Tx;
use crate::executor::{Executor, ExecutorError, TurnContext};
use crate::store::{Record, WorkerEnd};

/// Bounds that shape transitions, and the token every turn's cancellation descends from.
#[derive(Debug, Clone)]
pub(crate) struct TurnPolicy {
    /// Most inputs waiting behind a running turn.
    pub(crate) queue_capacity: usize,
    /// Cancelled at shutdown, which thereby cancels every running turn.
    pub(crate) turns: CancellationToken,
}

/// A turn a transition started; the caller spawns it after committing.
pub(crate) struct TurnStart {
    pub(crate) turn_id: u64,
    pub(crate) context: TurnContext,
    pub(crate) executor: Arc<dyn Executor>,
    pub(crate) cancel: CancellationToken,
}

/// What accepting an input did.
pub(crate) struct Accepted {
    pub(crate) ack: InputAck,
    pub(crate) start: Option<TurnStart>,
}

impl WorkerInner {
    /// `input`: start a turn when idle; when busy, reject, queue or interrupt as the request says.
    pub(crate) fn accept_input(
        &mut self,
        tx: &mut Tx<'_>,
        request: InputRequest,
        policy: &TurnPolicy,
    ) -> Result<Accepted, ApiError> {
        let id = self.record.worker_id.clone();
        self.refuse_if_ended()?;
        let disposition = match self.state {
            WorkerState::Stopped | WorkerState::Failed => unreachable!("refused above"),
            WorkerState::Idle => InputDisposition::Started,
            WorkerState::Busy => match request.when_busy {
                WhenBusy::Reject => {
                    return Err(
                        ApiError::new(ErrorCode::WorkerBusy, format!("worker {id} is running a turn")).with_worker(id)
                    );
                }
                WhenBusy::Queue if self.queue.len() >= policy.queue_capacity => {
                    return Err(ApiError::new(
                        ErrorCode::WorkerBusy,
                        format!("worker {id} has {} inputs queued, the most it takes", self.queue.len()),
                    )
                    .with_worker(id));
                }
                WhenBusy::Queue => InputDisposition::Queued,
                WhenBusy::Interrupt => {
                    self.cancel_running(tx, Some("interrupted by new input"), TurnOutcome::Interrupted);
                    self.drop_queue(tx);
                    InputDisposition::Interrupted
                }
            },
        };

        let turn_id = self.next_turn;
        self.next_turn += 1;
        let role = match request.kind {
            InputKind::User => Role::User,
            InputKind::System => Role::System,
        };
        let transcript_seq = self.append(tx, role, request.content, Some(turn_id));
        let event_seq =
            tx.event(EventBody::InputAccepted { turn_id, transcript_seq, input_kind: request.kind, disposition });
        let (start, queue_position) = if disposition == InputDisposition::Queued {
            self.queue.push_back(QueuedTurn { turn_id, input_seq: transcript_seq });
            (None, Some(self.queue.len() as u32))
        } else {
            (Some(self.start_turn(tx, turn_id, transcript_seq, policy)), None)
        };
        let ack = InputAck { worker_id: id, turn_id, disposition, queue_position, transcript_seq, event_seq };
        Ok(Accepted { ack, start })
    }

    /// `cancel`: abort the running turn and drop the queue; nothing to do when idle; refused once ended.
    pub(crate) fn cancel(&mut self, tx: &mut Tx<'_>, reason: Option<String>) -> Result<CancelAck, ApiError> {
        let id = self.record.worker_id.clone();
        self.refuse_if_ended()?;
        let Some(turn_id) = self.cancel_running(tx, reason.as_deref(), TurnOutcome::Cancelled) else {
            return Ok(CancelAck {
                worker_id: id,
                outcome: CancelOutcome::NothingToCancel,
                turn_id: None,
                dropped_queued: 0,
                state: self.state,
            });
        };
        let dropped_queued = self.drop_queue(tx);
        self.set_state(tx, WorkerState::Idle);
        Ok(CancelAck {
            worker_id: id,
            outcome: CancelOutcome::Cancelled,
            turn_id: Some(turn_id),
            dropped_queued,
            state: self.state,
        })
    }

    /// `stop`: cancel what runs and what waits, then end the worker. Stopping a stopped worker again is
    /// harmless; a failed worker cannot be stopped.
    pub(crate) fn stop(&mut self, tx: &mut Tx<'_>, reason: Option<String>) -> Result<StopAck, ApiError> {
        let id = self.record.worker_id.clone();
        if self.state == WorkerState::Stopped {
            let outcome = StopOutcome::AlreadyStopped;
            return Ok(StopAck { worker_id: id, outcome, cancelled_turn: None, state: self.state });
        }
        self.refuse_if_ended()?;
        let cancelled_turn = self.cancel_running(tx, Some("the worker is stopping"), TurnOutcome::Cancelled);
        self.drop_queue(tx);
        let notice = reason.as_deref().map_or_else(|| "worker stopped".to_owned(), |r| format!("worker stopped: {r}"));
        let transcript_seq = self.append(tx, Role::Notice, notice, None);
        self.end(tx, WorkerState::Stopped, reason.clone());
        tx.event(EventBody::WorkerStopped { transcript_seq, reason });
        Ok(StopAck { worker_id: id, outcome: StopOutcome::Stopped, cancelled_turn, state: self.state })
    }

    /// A turn's executor returned. Records its reply (a failed turn's partial one, if it produced any, and
    /// a notice naming the reason) and starts the next queued turn, if any. Returns `None` without touching
    /// anything when the turn is no longer the running one (it was cancelled while finishing).
    pub(crate) fn finish_turn(
        &mut self,
        tx: &mut Tx<'_>,
        turn_id: u64,
        outcome: Result<(), ExecutorError>,
        policy: &TurnPolicy,
    ) -> Option<Option<TurnStart>> {
        if self.current.as_ref().map(|t| t.turn_id) != Some(turn_id) {
            return None;
        }
        let running = self.current.take().expect("checked above");
        match outcome {
            Ok(()) => {
                let usage = running.reply.facts.usage;
                let transcript_seq = self.append_reply(tx, running, TurnOutcome::Completed);
                tx.event(EventBody::TurnCompleted { turn_id, transcript_seq, usage });
            }
            Err(error) => {
                let reply_seq =
                    (!running.reply.text.is_empty()).then(|| self.append_reply(tx, running, TurnOutcome::Failed));
                let notice = format!("turn {turn_id} failed ({}): {}", error.reason, error.message);
                let transcript_seq = self.append(tx, Role::Notice, notice, Some(turn_id));
                let ExecutorError { reason, message } = error;
                tx.event(EventBody::TurnFailed { turn_id, transcript_seq, reason, error: message, reply_seq });
            }
        }
        Some(self.start_next(tx, policy))
    }

    /// After a restart: turns that were running or queued when the process died are recorded as
    /// interrupted (the worker itself was rebuilt idle, or keeps its terminal state).
    pub(crate) fn interrupt_unfinished(&mut self, tx: &mut Tx<'_>, unfinished: &[u64]) {
        for &turn_id in unfinished {
            let notice = format!("turn {turn_id} was interrupted: the runtime stopped before it finished");
            let transcript_seq = self.append(tx, Role::Notice, notice, Some(turn_id));
            tx.event(EventBody::TurnInterrupted { turn_id, transcript_seq });
        }
    }

    /// Ends a worker that can no longer run (its profile is gone, say).
    pub(crate) fn fail(&mut self, tx: &mut Tx<'_>, error: String) {
        let transcript_seq = self.append(tx, Role::Notice, format!("worker failed: {error}"), None);
        self.end(tx, WorkerState::Failed, Some(error.clone()));
        tx.event(EventBody::WorkerFailed { transcript_seq, error });
    }

    /// `worker_stopped` for a worker that has ended: SPEC §3 allows no transition out of `stopped` or
    /// `failed`, and refuses rather than ignores one.
    fn refuse_if_ended(&self) -> Result<(), ApiError> {
        let state = match self.state {
            WorkerState::Stopped => "stopped",
            WorkerState::Failed => "failed",
            WorkerState::Idle | WorkerState::Busy => return Ok(()),
        };
        let id = self.record.worker_id.clone();
        Err(ApiError::new(ErrorCode::WorkerStopped, format!("worker {id} is {state}")).with_worker(id))
    }

    /// Starts the next queued turn, or goes idle.
    fn start_next(&mut self, tx: &mut Tx<'_>, policy: &TurnPolicy) -> Option<TurnStart> {
        match self.queue.pop_front() {
            Some(next) => Some(self.start_turn(tx, next.turn_id, next.input_seq, policy)),
            None => {
                self.set_state(tx, WorkerState::Idle);
                None
            }
        }
    }

    fn start_turn(&mut self, tx: &mut Tx<'_>, turn_id: u64, input_seq: u64, policy: &TurnPolicy) -> TurnStart {
        let profile = self.profile.clone().expect("only workers with a profile take input");
        let cancel = policy.turns.child_token();
        self.current = Some(RunningTurn {
            turn_id,
            started_at: tx.at(),
            started: Instant::now(),
            cancel: cancel.clone(),
            reply: Reply::default(),
        });
        self.set_state(tx, WorkerState::Busy);
        tx.event(EventBody::TurnStarted { turn_id });
        let reserved = profile.system_prompt().map_or(0, |p| p.chars().count());
        let reorder = policy.queue_capacity + 1;
        let (history, input) = self.conversation(turn_id, input_seq, profile.history(), reserved, reorder);
        let context = TurnContext {
            worker_id: self.record.worker_id.clone(),
            turn_id,
            system_prompt: profile.system_prompt().map(str::to_owned),
            history,
            input,
        };
        TurnStart { turn_id, context, executor: profile.executor().clone(), cancel }
    }

    /// Aborts the running turn, if any, and records what it produced (as an entry marked `outcome`) and
    /// why it ended; returns its id.
    fn cancel_running(&mut self, tx: &mut Tx<'_>, reason: Option<&str>, outcome: TurnOutcome) -> Option<u64> {
        let running = self.current.take()?;
        running.cancel.cancel();
        let turn_id = running.turn_id;
        let reply_seq = (!running.reply.text.is_empty()).then(|| self.append_reply(tx, running, outcome));
        let notice = match reason {
            Some(reason) => format!("turn {turn_id} cancelled: {reason}"),
            None => format!("turn {turn_id} cancelled"),
        };
        let transcript_seq = self.append(tx, Role::Notice, notice, Some(turn_id));
        tx.event(EventBody::TurnCancelled { turn_id, transcript_seq, reason: reason.map(str::to_owned), reply_seq });
        Some(turn_id)
    }

    /// Drops every queued input, recording each of their turns as cancelled; returns how many.
    fn drop_queue(&mut self, tx: &mut Tx<'_>) -> u32 {
        let dropped = self.queue.len() as u32;
        for queued in std::mem::take(&mut self.queue) {
            let turn_id = queued.turn_id;
            let notice = format!("turn {turn_id} cancelled before it started");
            let transcript_seq = self.append(tx, Role::Notice, notice, Some(turn_id));
            let reason = Some("dropped from the queue".to_owned());
            tx.event(EventBody::TurnCancelled { turn_id, transcript_seq, reason, reply_seq: None });
        }
        dropped
    }

    fn end(&mut self, tx: &mut Tx<'_>, state: WorkerState, reason: Option<String>) {
        self.set_state(tx, state);
        self.record.end = Some(WorkerEnd { state, reason, at: tx.at() });
        tx.record(Record::Worker(self.record.clone()));
    }
}
