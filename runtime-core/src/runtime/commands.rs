//! Commands: create, input, stop and cancel, each applied in one synchronous step and acknowledged once
//! durable, and remembered by idempotency key when the client sent one.

use std::sync::Arc;

use runtime_api::{
    ApiError, Command, CommandAck, CreateWorkerRequest, ErrorCode, EventBody, IdempotencyKey, WorkerId, WorkerState,
};

use super::{Core, Runtime};
use crate::profile::DEFAULT_PROFILE;
use crate::store::{CommandRecord, Durable, Record, WorkerRecord};
use crate::worker::machine::TurnStart;
use crate::worker::{Worker, WorkerInner};

/// What a keyed command stores beside its change.
struct Memo<'a> {
    key: &'a IdempotencyKey,
    fingerprint: &'a str,
}

/// A command applied: its ack, the record that remembers it, and when it is durable.
struct Applied {
    ack: CommandAck,
    remembered: Option<Arc<CommandRecord>>,
    durable: Durable,
}

impl Runtime {
    /// Runs a command (SPEC §3) and answers once its effect is durable. With a `key`, a repeat within the
    /// retention window gets the first ack and changes nothing; the same key with a different request is
    /// refused with `invalid_request`.
    pub async fn command(&self, command: Command, key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        let core = &self.core;
        command.validate().map_err(|e| core.scoped(e))?;
        core.check_open()?;
        let (ack, durable) = match &key {
            None => {
                let applied = core.apply(command, None)?;
                (applied.ack, applied.durable)
            }
            Some(key) => {
                let fingerprint = command.fingerprint();
                // Held through the whole synchronous step, so a second request with this key waits and then
                // finds the first one remembered.
                let remembered = core.remembered.lock(key);
                match remembered.repeat(key, &fingerprint).map_err(|e| core.scoped(e))? {
                    Some(repeat) => (repeat.ack, repeat.durable),
                    None => {
                        let applied = core.apply(command, Some(Memo { key, fingerprint: &fingerprint }))?;
                        if let Some(record) = applied.remembered {
                            remembered.remember(record, applied.durable.clone());
                        }
                        (applied.ack, applied.durable)
                    }
                }
            }
        };
        core.durable(durable).await?;
        Ok(ack)
    }
}

impl Core {
    /// Applies a command and starts any turn it starts. Nothing here awaits, so a caller that gives up
    /// waiting for durability cannot leave a change half made.
    fn apply(self: &Arc<Self>, command: Command, memo: Option<Memo<'_>>) -> Result<Applied, ApiError> {
        match command {
            Command::Create(request) => self.create(request, memo),
            Command::Input(worker_id, request) => self.change(&worker_id, memo, |inner, tx, policy| {
                let accepted = inner.accept_input(tx, request, policy)?;
                Ok((CommandAck::Input(accepted.ack), accepted.start))
            }),
            Command::Stop(worker_id, request) => self
                .change(&worker_id, memo, |inner, tx, _| Ok((CommandAck::Stop(inner.stop(tx, request.reason)?), None))),
            Command::Cancel(worker_id, request) => self.change(&worker_id, memo, |inner, tx, _| {
                Ok((CommandAck::Cancel(inner.cancel(tx, request.reason)?), None))
            }),
        }
    }

    fn create(&self, request: CreateWorkerRequest, memo: Option<Memo<'_>>) -> Result<Applied, ApiError> {
        let profile_name = request.profile.unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        let profile = self.profiles.get(&profile_name).ok_or_else(|| {
            self.scoped(ApiError::new(ErrorCode::ProfileNotFound, format!("profile {profile_name} is not configured")))
        })?;
        let mut workers = self.workers.write();
        // Allocated under the map lock, so ids enter the map in order and a page cursor never skips one.
        let worker_id = self.ids.next();
        let mut tx = self.log.begin(&worker_id, None).map_err(|e| self.scoped(e))?;
        let record = WorkerRecord {
            worker_id: worker_id.clone(),
            title: request.title,
            profile: profile.name().to_owned(),
            executor: profile.executor_name().to_owned(),
            model: profile.model().map(str::to_owned),
            metadata: request.metadata.unwrap_or_default(),
            created_at: tx.at(),
            end: None,
        };
        tx.record(Record::Worker(record.clone()));
        let mut inner = WorkerInner {
            record,
            profile: Some(profile),
            state: WorkerState::Idle,
            updated_at: tx.at(),
            transcript: Vec::new(),
            next_turn: 1,
            current: None,
            queue: Default::default(),
            usage: Default::default(),
            last_change: Durable::done(),
            last_activity: tokio::time::Instant::now(),
        };
        inner.set_state(&mut tx, WorkerState::Idle);
        tx.event(EventBody::WorkerCreated { worker: inner.summary(&self.config.runtime_id) });
        let ack = CommandAck::Create(Box::new(inner.detail(&self.config.runtime_id)));
        let remembered = memo.map(|memo| remember(memo, &mut tx, &ack));
        let durable = inner.commit(tx);
        workers.insert(worker_id, Worker::new(inner));
        Ok(Applied { ack, remembered, durable })
    }

    /// Applies one transition to a worker and spawns the turn it started.
    fn change(
        self: &Arc<Self>,
        worker_id: &WorkerId,
        memo: Option<Memo<'_>>,
        transition: impl FnOnce(
            &mut WorkerInner,
            &mut crate::events::Tx<'_>,
            &crate::worker::machine::TurnPolicy,
        ) -> Result<(CommandAck, Option<TurnStart>), ApiError>,
    ) -> Result<Applied, ApiError> {
        let worker = self.worker(worker_id)?;
        let (applied, start) = {
            let mut inner = worker.inner.lock();
            let mut tx = self.log.begin(&worker.id, Some(inner.state)).map_err(|e| self.scoped(e))?;
            let (ack, start) = transition(&mut inner, &mut tx, &self.policy).map_err(|e| self.scoped(e))?;
            let remembered = memo.map(|memo| remember(memo, &mut tx, &ack));
            (Applied { ack, remembered, durable: inner.commit(tx) }, start)
        };
        if let Some(start) = start {
            self.spawn_turn(worker, start, applied.durable.clone());
        }
        Ok(applied)
    }
}

/// Adds the record that remembers a keyed command to its change.
fn remember(memo: Memo<'_>, tx: &mut crate::events::Tx<'_>, ack: &CommandAck) -> Arc<CommandRecord> {
    let record = Arc::new(CommandRecord {
        key: memo.key.clone(),
        fingerprint: memo.fingerprint.to_owned(),
        at: tx.at(),
        ack: ack.clone(),
    });
    tx.record(Record::Command(record.clone()));
    record
}
