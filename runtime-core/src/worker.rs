//! One worker's in-memory state and the read views built from it.
//!
//! A worker's state sits behind a short, synchronous lock that is never held across an await; every
//! change is made under it together with its event-log transaction (see [`machine`]), so concurrent
//! commands on one worker are serialized and observers never see half a transition.

pub(crate) mod machine;

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use runtime_api::limits::effective_limit;
use runtime_api::{
    Role, RuntimeId, Timestamp, TranscriptEntry, TranscriptPage, TranscriptQuery, TurnInfo, TurnOutcome, Usage,
    WorkerDetail, WorkerId, WorkerState, WorkerSummary,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::events::Tx;
use crate::executor::{Message, ReplyFacts};
use crate::profile::{HistoryBounds, Profile};
use crate::store::{Durable, Record, WorkerRecord};

/// A worker: its id and its lock-guarded state.
pub(crate) struct Worker {
    pub(crate) id: WorkerId,
    pub(crate) inner: Mutex<WorkerInner>,
}

/// Everything the runtime knows about a worker.
pub(crate) struct WorkerInner {
    pub(crate) record: WorkerRecord,
    /// The resolved profile; `None` only for a worker that failed because its profile disappeared.
    pub(crate) profile: Option<Arc<Profile>>,
    pub(crate) state: WorkerState,
    pub(crate) updated_at: Timestamp,
    /// Entry `seq` lives at index `seq - 1`, so any page is a slice.
    pub(crate) transcript: Vec<TranscriptEntry>,
    pub(crate) next_turn: u64,
    pub(crate) current: Option<RunningTurn>,
    pub(crate) queue: VecDeque<QueuedTurn>,
    /// Tokens counted over every assistant entry.
    pub(crate) usage: Usage,
    /// The ticket of this worker's newest change: reads wait for it, so nobody is shown a change that a
    /// crash could take back.
    pub(crate) last_change: Durable,
    /// When the worker last changed, on tokio's clock: idle culling measures from here.
    pub(crate) last_activity: tokio::time::Instant,
}

/// The turn a busy worker is running.
pub(crate) struct RunningTurn {
    pub(crate) turn_id: u64,
    pub(crate) started_at: Timestamp,
    /// When it started, on the monotonic clock its timings are measured with.
    pub(crate) started: Instant,
    /// Cancelling it drops the executor's future.
    pub(crate) cancel: CancellationToken,
    /// What the executor produced so far; kept here, under the worker lock, so a cancel records it.
    pub(crate) reply: Reply,
}

/// A running turn's output so far.
#[derive(Default)]
pub(crate) struct Reply {
    pub(crate) text: String,
    pub(crate) facts: ReplyFacts,
    /// Time from the turn's start to its first delta.
    pub(crate) first_token: Option<std::time::Duration>,
}

impl RunningTurn {
    /// Appends a delta to the reply, timing the first one.
    pub(crate) fn push(&mut self, text: &str) {
        if self.reply.first_token.is_none() {
            self.reply.first_token = Some(self.started.elapsed());
        }
        self.reply.text.push_str(text);
    }

    /// Merges facts the executor reported.
    pub(crate) fn note(&mut self, facts: ReplyFacts) {
        let known = &mut self.reply.facts;
        if facts.model.is_some() {
            known.model = facts.model;
        }
        if facts.finish_reason.is_some() {
            known.finish_reason = facts.finish_reason;
        }
        if facts.usage.is_some() {
            known.usage = facts.usage;
        }
    }
}

/// An accepted input waiting for the running turn to end; its entry is already in the transcript.
pub(crate) struct QueuedTurn {
    pub(crate) turn_id: u64,
    pub(crate) input_seq: u64,
}

impl Worker {
    pub(crate) fn new(inner: WorkerInner) -> Arc<Self> {
        Arc::new(Worker { id: inner.record.worker_id.clone(), inner: Mutex::new(inner) })
    }
}

impl WorkerInner {
    /// The list view.
    pub(crate) fn summary(&self, runtime_id: &RuntimeId) -> WorkerSummary {
        WorkerSummary {
            runtime_id: runtime_id.clone(),
            worker_id: self.record.worker_id.clone(),
            title: self.record.title.clone(),
            state: self.state,
            profile: self.record.profile.clone(),
            executor: self.record.executor.clone(),
            model: self
                .profile
                .as_ref()
                .and_then(|p| p.model().map(str::to_owned))
                .or_else(|| self.record.model.clone()),
            created_at: self.record.created_at,
            updated_at: self.updated_at,
            transcript_len: self.transcript.len() as u64,
        }
    }

    /// The detail view.
    pub(crate) fn detail(&self, runtime_id: &RuntimeId) -> WorkerDetail {
        WorkerDetail {
            summary: self.summary(runtime_id),
            metadata: self.record.metadata.clone(),
            current_turn: self.current.as_ref().map(|t| TurnInfo { turn_id: t.turn_id, started_at: t.started_at }),
            queued_inputs: self.queue.len() as u32,
            end_reason: self.record.end.as_ref().and_then(|e| e.reason.clone()),
            usage: self.usage,
        }
    }

    /// A bounded transcript page; its cost depends on the page size only.
    pub(crate) fn page(&self, query: TranscriptQuery) -> TranscriptPage {
        let limit = effective_limit(query.limit);
        let len = self.transcript.len();
        let start = usize::try_from(query.after.unwrap_or(0)).unwrap_or(usize::MAX).min(len);
        let end = start.saturating_add(limit as usize).min(len);
        TranscriptPage {
            worker_id: self.record.worker_id.clone(),
            entries: self.transcript[start..end].to_vec(),
            limit,
            next_after: (end < len).then_some(end as u64),
            last_seq: len as u64,
        }
    }

    /// Appends a transcript entry and its record; returns its seq.
    pub(crate) fn append(&mut self, tx: &mut Tx<'_>, role: Role, content: String, turn_id: Option<u64>) -> u64 {
        let entry = TranscriptEntry::new(self.transcript.len() as u64 + 1, role, content, tx.at(), turn_id);
        self.push_entry(tx, entry)
    }

    /// Appends the assistant entry of an ended turn with everything known about it; returns its seq.
    pub(crate) fn append_reply(&mut self, tx: &mut Tx<'_>, turn: RunningTurn, outcome: TurnOutcome) -> u64 {
        let Reply { text, facts, first_token } = turn.reply;
        let profile = self.profile.as_deref();
        let mut entry =
            TranscriptEntry::new(self.transcript.len() as u64 + 1, Role::Assistant, text, tx.at(), Some(turn.turn_id));
        entry.outcome = Some(outcome);
        entry.executor = Some(self.record.executor.clone());
        entry.model = facts.model.or_else(|| profile.and_then(|p| p.model().map(str::to_owned)));
        entry.finish_reason = facts.finish_reason;
        entry.usage = facts.usage;
        entry.first_token_ms = first_token.map(|d| d.as_millis() as u64);
        entry.duration_ms = Some(turn.started.elapsed().as_millis() as u64);
        if let Some(usage) = &entry.usage {
            self.usage.add(usage);
        }
        self.push_entry(tx, entry)
    }

    fn push_entry(&mut self, tx: &mut Tx<'_>, entry: TranscriptEntry) -> u64 {
        let seq = entry.seq;
        tx.record(Record::Transcript { worker_id: self.record.worker_id.clone(), entry: entry.clone() });
        self.transcript.push(entry);
        self.updated_at = tx.at();
        seq
    }

    /// Commits a transaction of this worker and remembers its ticket.
    pub(crate) fn commit(&mut self, tx: Tx<'_>) -> Durable {
        self.last_activity = tokio::time::Instant::now();
        let durable = tx.commit();
        if durable.peek().is_none() {
            self.last_change = durable.clone();
        }
        durable
    }

    /// Moves to `state`, telling the transaction.
    pub(crate) fn set_state(&mut self, tx: &mut Tx<'_>, state: WorkerState) {
        self.state = state;
        self.updated_at = tx.at();
        tx.set_state(state);
    }

    /// The input of `turn_id` and the newest earlier messages within `bounds`, oldest first; `reserved`
    /// characters (the system prompt's) count against the bound too.
    ///
    /// Queued inputs are appended when accepted, so a later turn's input can sit before an earlier turn's
    /// reply: history is in turn order, and entries of later turns are left out. Messages are taken newest
    /// first (in turn order) until one does not fit, so what is sent is always a recent, unbroken stretch.
    /// An entry can sit at most `reorder` places from its turn-order position (one reply for the running
    /// turn and each queued one), so reading that many more than the bound is enough, and the cost stays
    /// independent of the transcript's length.
    pub(crate) fn conversation(
        &self,
        turn_id: u64,
        input_seq: u64,
        bounds: HistoryBounds,
        reserved: usize,
        reorder: usize,
    ) -> (Vec<Message>, Message) {
        let input = &self.transcript[(input_seq - 1) as usize];
        let mut newest: Vec<&TranscriptEntry> = self
            .transcript
            .iter()
            .rev()
            .filter(|e| e.role != Role::Notice && e.turn_id.is_some_and(|t| t < turn_id))
            .take(bounds.max_messages.saturating_add(reorder))
            .collect();
        // Newest first, in turn order.
        newest.sort_by_key(|e| std::cmp::Reverse((e.turn_id, e.seq)));
        let mut budget = bounds.max_chars.saturating_sub(reserved + input.content.chars().count());
        let mut earlier: Vec<&TranscriptEntry> = newest
            .into_iter()
            .take(bounds.max_messages)
            .take_while(|e| {
                let chars = e.content.chars().count();
                let fits = chars <= budget;
                budget = budget.saturating_sub(chars);
                fits
            })
            .collect();
        earlier.reverse();
        let history = earlier.into_iter().map(|e| Message { role: e.role, content: e.content.clone() }).collect();
        (history, Message { role: input.role, content: input.content.clone() })
    }
}
