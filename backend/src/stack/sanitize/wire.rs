//! Where secrets can hide in the wire types: which fields of each answer, error and frame get which strength
//! of scrubbing.

use futures::StreamExt;
use runtime_api::{
    ApiError, CommandAck, DetailAnswer, ErrorCode, Event, EventBody, ProfileInfo, Role, RuntimeSummary, Snapshot,
    SnapshotState, StreamFrame, TranscriptEntry, WorkerDetail, WorkerSummary,
};

use super::Sanitizer;
use crate::stack::SourceResponse;

/// Values that can carry secrets out of a source.
pub trait Sanitize {
    /// Scrubs the value in place.
    fn sanitize(&mut self, with: &Sanitizer);
}

impl Sanitize for ApiError {
    fn sanitize(&mut self, with: &Sanitizer) {
        with.diagnostic(&mut self.message);
        if let Some(field) = &mut self.field {
            with.text(field);
        }
        for problem in &mut self.problems {
            with.text(&mut problem.field);
            with.diagnostic(&mut problem.message);
        }
    }
}

impl Sanitize for RuntimeSummary {
    fn sanitize(&mut self, with: &Sanitizer) {
        with.text(&mut self.display_name);
        with.text(&mut self.log_id);
        self.capabilities.profiles.iter_mut().for_each(|p| p.sanitize(with));
        with.text(&mut self.protocol.name);
        with.text(&mut self.protocol.version);
        for feature in &mut self.protocol.features {
            with.text(feature);
        }
    }
}

impl Sanitize for ProfileInfo {
    fn sanitize(&mut self, with: &Sanitizer) {
        with.text(&mut self.name);
        with.text(&mut self.executor);
        for text in [&mut self.model, &mut self.description].into_iter().flatten() {
            with.text(text);
        }
    }
}

impl Sanitize for WorkerSummary {
    fn sanitize(&mut self, with: &Sanitizer) {
        for text in [&mut self.title, &mut self.model].into_iter().flatten() {
            with.text(text);
        }
        with.text(&mut self.profile);
        with.text(&mut self.executor);
    }
}

impl Sanitize for WorkerDetail {
    fn sanitize(&mut self, with: &Sanitizer) {
        self.summary.sanitize(with);
        if with.has_secrets() {
            let metadata = std::mem::take(&mut self.metadata);
            self.metadata = metadata
                .into_iter()
                .map(|(mut key, mut value)| {
                    with.text(&mut key);
                    with.text(&mut value);
                    (key, value)
                })
                .collect();
        }
        if let Some(reason) = &mut self.end_reason {
            with.diagnostic(reason);
        }
    }
}

impl Sanitize for TranscriptEntry {
    fn sanitize(&mut self, with: &Sanitizer) {
        match self.role {
            Role::Notice => with.diagnostic(&mut self.content),
            Role::User | Role::Assistant | Role::System => with.text(&mut self.content),
        }
        for text in [&mut self.executor, &mut self.model, &mut self.finish_reason].into_iter().flatten() {
            with.text(text);
        }
    }
}

impl Sanitize for Event {
    fn sanitize(&mut self, with: &Sanitizer) {
        match &mut self.body {
            EventBody::WorkerCreated { worker } => worker.sanitize(with),
            EventBody::TurnDelta { delta, .. } => with.text(delta),
            EventBody::TurnCancelled { reason: Some(reason), .. }
            | EventBody::WorkerStopped { reason: Some(reason), .. } => with.diagnostic(reason),
            EventBody::TurnFailed { error, .. } | EventBody::WorkerFailed { error, .. } => with.diagnostic(error),
            _ => {}
        }
    }
}

impl Sanitize for StreamFrame {
    fn sanitize(&mut self, with: &Sanitizer) {
        match self {
            StreamFrame::Snapshot(Snapshot { state, log_id, .. }) => {
                with.text(log_id);
                match state {
                    SnapshotState::Runtime { runtime } => runtime.sanitize(with),
                    SnapshotState::Worker { worker } => worker.sanitize(with),
                }
            }
            StreamFrame::Event { event } => event.sanitize(with),
            StreamFrame::Closed { message, .. } => with.diagnostic(message),
            StreamFrame::Heartbeat { .. } | StreamFrame::Lagged { .. } => {}
        }
    }
}

/// Keeps a remote's detail as its bytes only when scrubbing would change nothing in them; otherwise decodes it,
/// so that [`Sanitize`] scrubs it like any other.
pub(super) fn settle(response: &mut SourceResponse, with: &Sanitizer) -> Result<(), ApiError> {
    let SourceResponse::Worker(answer) = response else { return Ok(()) };
    let DetailAnswer::Verbatim(verbatim) = answer else { return Ok(()) };
    if with.leaves_unchanged(verbatim) {
        return Ok(());
    }
    // The check that made it verbatim decoded it strictly, so this cannot fail short of a bug.
    let detail = verbatim.decode().map_err(|_| {
        ApiError::new(ErrorCode::RuntimeProtocolError, "a runtime's worker detail could not be read twice")
    })?;
    *answer = DetailAnswer::Decoded(detail);
    Ok(())
}

impl Sanitize for SourceResponse {
    fn sanitize(&mut self, with: &Sanitizer) {
        match self {
            SourceResponse::Summary(summary) => summary.sanitize(with),
            SourceResponse::Workers(page) => page.workers.iter_mut().for_each(|w| w.sanitize(with)),
            SourceResponse::Worker(DetailAnswer::Decoded(detail)) => detail.sanitize(with),
            // Checked by `settle` before: what is still verbatim holds nothing to scrub.
            SourceResponse::Worker(DetailAnswer::Verbatim(_)) => {}
            SourceResponse::Transcript(page) => page.entries.iter_mut().for_each(|e| e.sanitize(with)),
            SourceResponse::Profiles(list) => list.profiles.iter_mut().for_each(|p| p.sanitize(with)),
            SourceResponse::Command(CommandAck::Create(detail)) => detail.sanitize(with),
            SourceResponse::Command(_) => {}
            SourceResponse::Stream(stream) => {
                let taken = std::mem::replace(stream, Box::pin(futures::stream::empty()));
                let with = with.clone();
                *stream = Box::pin(taken.map(move |mut frame| {
                    frame.sanitize(&with);
                    frame
                }));
            }
        }
    }
}
