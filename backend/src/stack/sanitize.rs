//! Sanitization: registered secrets and internal locations never leave the stack.
//!
//! Sits above `MapErrorLayer`, so typed error messages are scrubbed, and below `DiagnosticsLayer`, so what
//! diagnostics keep and show is already clean. Two strengths apply:
//! - everywhere, every registered secret (a remote's endpoint, token, token reference, a data directory) is
//!   replaced by a named placeholder such as `<endpoint of remote-dev>`, so messages stay useful;
//! - in text a runtime wrote about itself (error messages, failure notices, close reasons) URLs and path-like
//!   words are also replaced (`<url>`, `<path>`), since a source may not know what it leaks.
//!
//! User content (inputs, replies, titles) gets only the first: a user may well talk about `/etc/hosts`.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use runtime_api::{
    ApiError, Event, EventBody, ProfileInfo, Role, RuntimeId, RuntimeSummary, Snapshot, SnapshotState, StreamFrame,
    TranscriptEntry, WorkerDetail, WorkerSummary,
};

use super::{SourceRequest, SourceResponse};

/// What kind of secret a registered string is; it names the placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A remote runtime's address.
    Endpoint,
    /// A credential.
    Token,
    /// Where a credential is read from (`env:NAME`, `file:PATH`).
    TokenRef,
    /// A file or directory on the backend's host.
    Path,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::Endpoint => "endpoint",
            SecretKind::Token => "token",
            SecretKind::TokenRef => "token reference",
            SecretKind::Path => "path",
        }
    }
}

/// The secrets of one source and the rules for scrubbing them.
#[derive(Debug, Clone, Default)]
pub struct Sanitizer {
    /// Longest first, so a secret is replaced before any part of it.
    secrets: Vec<Secret>,
}

#[derive(Debug, Clone)]
struct Secret {
    text: String,
    placeholder: String,
    /// Replace only where the secret is a whole word: a host `10.9.8.7` must not eat part of `10.9.8.70`.
    /// Tokens are replaced wherever they appear, inside a word or not.
    whole_word: bool,
}

impl Sanitizer {
    /// A sanitizer that knows no secrets (URL and path scrubbing of runtime text still applies).
    pub fn new() -> Self {
        Sanitizer::default()
    }

    /// Registers a secret owned by `owner`. Values shorter than 4 characters are not registered: they would
    /// scrub ordinary words, and no credential that short is accepted anywhere.
    pub fn secret(self, kind: SecretKind, owner: &RuntimeId, value: &str) -> Self {
        self.register(kind, owner, value, false)
    }

    /// Registers an endpoint in the forms it tends to appear in: as a URL (without its trailing slash, so a
    /// path after it stays readable), as `host:port`, and as the bare host.
    pub fn endpoint(mut self, owner: &RuntimeId, url: &url::Url) -> Self {
        self = self.register(SecretKind::Endpoint, owner, url.as_str().trim_end_matches('/'), true);
        if let Some(host) = url.host_str() {
            if let Some(port) = url.port_or_known_default() {
                self = self.register(SecretKind::Endpoint, owner, &format!("{host}:{port}"), true);
            }
            self = self.register(SecretKind::Endpoint, owner, host, true);
        }
        self
    }

    fn register(mut self, kind: SecretKind, owner: &RuntimeId, value: &str, whole_word: bool) -> Self {
        if value.chars().count() >= 4 && !self.secrets.iter().any(|s| s.text == value) {
            let placeholder = format!("<{} of {owner}>", kind.label());
            self.secrets.push(Secret { text: value.to_owned(), placeholder, whole_word });
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.text.len()));
        }
        self
    }

    /// Scrubs registered secrets from any text.
    pub fn text(&self, text: &mut String) {
        for secret in &self.secrets {
            if text.contains(secret.text.as_str()) {
                *text = if secret.whole_word {
                    replace_words(text, &secret.text, &secret.placeholder)
                } else {
                    text.replace(secret.text.as_str(), &secret.placeholder)
                };
            }
        }
    }

    /// Scrubs registered secrets, URLs and path-like words from text a runtime wrote about itself.
    pub fn diagnostic(&self, text: &mut String) {
        self.text(text);
        if text.contains('/') || text.contains('\\') {
            *text = scrub_locations(text);
        }
    }
}

/// Replaces the occurrences of `needle` that are not part of a longer name or number.
fn replace_words(text: &str, needle: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // The character of the original text just before `rest`.
    let mut previous: Option<char> = None;
    while let Some(at) = rest.find(needle) {
        let (head, tail) = rest.split_at(at);
        let after = &tail[needle.len()..];
        let before = head.chars().last().or(previous);
        let whole = !joins_before(before) && !continues(after);
        out.push_str(head);
        out.push_str(if whole { placeholder } else { needle });
        previous = needle.chars().last();
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether `c` makes what follows it part of a longer name (`x.rt.example`, `host-2`, `a10.9.8.7`).
fn joins_before(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether `after` continues the name or number just matched (`10.9.8.70`, `10.9.8.7.5`, `host-2`).
fn continues(after: &str) -> bool {
    let mut chars = after.chars();
    match chars.next() {
        Some(c) if c.is_alphanumeric() || c == '_' => true,
        Some('.' | '-') => chars.next().is_some_and(char::is_alphanumeric),
        _ => false,
    }
}

/// Replaces URLs with `<url>` and path-like words with `<path>`, keeping everything else.
fn scrub_locations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let word_start = rest.find(|c: char| !c.is_whitespace()).unwrap_or(rest.len());
        out.push_str(&rest[..word_start]);
        rest = &rest[word_start..];
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..word_end];
        // Keep quotes and brackets around a location, and trailing punctuation.
        let inner = word.trim_start_matches(['(', '[', '"', '\'', '`', '<']);
        let lead = &word[..word.len() - inner.len()];
        let core = inner.trim_end_matches([')', ']', '"', '\'', '`', '>', ',', ';', ':', '.']);
        let trail = &inner[core.len()..];
        match classify(core) {
            Some(placeholder) => {
                out.push_str(lead);
                out.push_str(placeholder);
                out.push_str(trail);
            }
            None => out.push_str(word),
        }
        rest = &rest[word_end..];
    }
    out
}

fn classify(word: &str) -> Option<&'static str> {
    if let Some((scheme, tail)) = word.split_once("://")
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+')
        && !tail.is_empty()
    {
        return Some("<url>");
    }
    let slashes = word.matches('/').count();
    // Two slashes make a location: `/var/lib/x`, or the tail of one cut by a space (`Doe/ws/data`). Fewer
    // do when the word starts like a path: `~/x`, `./x`, `../x`, `.yoi/profiles.toml`.
    let unix = slashes >= 2 || word.starts_with("~/") || (word.starts_with('.') && slashes >= 1);
    let windows =
        word.len() > 3 && word.as_bytes()[1] == b':' && word.as_bytes()[2] == b'\\' || word.starts_with("\\\\");
    (unix || windows).then_some("<path>")
}

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
        if !with.secrets.is_empty() {
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
            | EventBody::WorkerStopped { reason: Some(reason), .. } => with.text(reason),
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

impl Sanitize for SourceResponse {
    fn sanitize(&mut self, with: &Sanitizer) {
        match self {
            SourceResponse::Summary(summary) => summary.sanitize(with),
            SourceResponse::Workers(page) => page.workers.iter_mut().for_each(|w| w.sanitize(with)),
            SourceResponse::Worker(detail) => detail.sanitize(with),
            SourceResponse::Transcript(page) => page.entries.iter_mut().for_each(|e| e.sanitize(with)),
            SourceResponse::Profiles(list) => list.profiles.iter_mut().for_each(|p| p.sanitize(with)),
            SourceResponse::Input(_) | SourceResponse::Stop(_) | SourceResponse::Cancel(_) => {}
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

/// Scrubs every response and error of the wrapped service.
#[derive(Debug, Clone)]
pub struct SanitizeLayer {
    sanitizer: Arc<Sanitizer>,
}

impl SanitizeLayer {
    /// A layer with these rules.
    pub fn new(sanitizer: Arc<Sanitizer>) -> Self {
        SanitizeLayer { sanitizer }
    }
}

impl<S> tower::Layer<S> for SanitizeLayer {
    type Service = SanitizeService<S>;

    fn layer(&self, inner: S) -> SanitizeService<S> {
        SanitizeService { inner, sanitizer: self.sanitizer.clone() }
    }
}

/// The service of [`SanitizeLayer`].
#[derive(Debug, Clone)]
pub struct SanitizeService<S> {
    inner: S,
    sanitizer: Arc<Sanitizer>,
}

impl<S> tower::Service<SourceRequest> for SanitizeService<S>
where
    S: tower::Service<SourceRequest, Response = SourceResponse, Error = ApiError>,
    S::Future: Send + 'static,
{
    type Response = SourceResponse;
    type Error = ApiError;
    type Future = BoxFuture<'static, Result<SourceResponse, ApiError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ApiError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SourceRequest) -> Self::Future {
        let sanitizer = self.sanitizer.clone();
        let call = self.inner.call(request);
        async move {
            match call.await {
                Ok(mut response) => {
                    response.sanitize(&sanitizer);
                    Ok(response)
                }
                Err(mut error) => {
                    error.sanitize(&sanitizer);
                    Err(error)
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests;
