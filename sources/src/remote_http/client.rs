//! REST calls to a remote runtime: pooled connections, a deadline per operation, bounded answers, a
//! protocol check before the first call, and retries where they cannot do harm.
//!
//! A connection can die without a sound (a crashed host, a dropped NAT entry), and a pooled one that did
//! shows only as an answer that never comes. So each attempt gets its own short limit, a failed attempt
//! drops the whole pool (its siblings likely died with it), and the call is tried again on a fresh
//! connection: reads always, commands when the remote remembers idempotency keys — every command carries
//! one, so a repeat returns the first ack instead of acting twice.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderValue;
use parking_lot::Mutex;
use runtime_api::{ApiError, ErrorCode, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, RuntimeId, RuntimeSummary};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use super::RemoteTimeouts;
use super::classify::{self, Failure};
use super::pool::Connections;
use super::wire;
use secrets::SecretRef;

/// How many times a read is retried after a failure that may pass.
const READ_RETRIES: u32 = 2;
/// How many times a command is retried on a fresh connection, when the remote remembers keys: as often as a
/// read, since a repeat changes nothing (a pooled connection found dead, then an answer lost, say).
const COMMAND_RETRIES: u32 = READ_RETRIES;
/// First pause before a retry; doubled each time, with jitter.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Largest answer read from a remote; a bigger one is not the protocol (pages are bounded) and is refused
/// rather than buffered.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// Whether the remote was found to speak this protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verified {
    /// Not checked since start or since the connection last failed (the remote may have been replaced).
    Unknown,
    /// It speaks this protocol, with these traits.
    Compatible(Traits),
}

/// What a compatible remote said about itself that changes how it is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Traits {
    /// It remembers idempotency keys, so a command may be sent again.
    pub(super) idempotent: bool,
    /// How often its quiet event streams send a heartbeat.
    pub(super) heartbeat: Option<Duration>,
}

impl Traits {
    fn of(summary: &RuntimeSummary) -> Self {
        Traits {
            idempotent: summary.protocol.has(runtime_api::runtime::feature::IDEMPOTENCY),
            heartbeat: summary.heartbeat_ms.map(Duration::from_millis),
        }
    }
}

/// What a call does, which decides its deadline and whether it may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Idempotent: summary, list, detail, transcript.
    Read,
    /// Changes the runtime: never sent twice.
    Command,
}

/// The connection to one remote runtime. Its endpoint and token reference never leave this type.
pub(super) struct Client {
    runtime_id: RuntimeId,
    /// The endpoint without its trailing slash; request paths start with `/v1/...`.
    prefix: String,
    /// The `Host` header of every request.
    host: String,
    token: Option<SecretRef>,
    connections: Connections,
    pub(super) tls: Arc<rustls::ClientConfig>,
    pub(super) timeouts: RemoteTimeouts,
    verified: Mutex<Verified>,
}

impl Client {
    pub(super) fn new(
        runtime_id: RuntimeId,
        base: &Url,
        token: Option<SecretRef>,
        tls: Arc<rustls::ClientConfig>,
        timeouts: RemoteTimeouts,
    ) -> Self {
        let connections = Connections::new(base, &tls, timeouts.connect);
        let prefix = base.as_str().trim_end_matches('/').to_owned();
        let host = host_header(base);
        Client { runtime_id, prefix, host, token, connections, tls, timeouts, verified: Mutex::new(Verified::Unknown) }
    }

    /// What the remote said about itself when last verified.
    pub(super) fn traits(&self) -> Option<Traits> {
        match *self.verified.lock() {
            Verified::Compatible(traits) => Some(traits),
            Verified::Unknown => None,
        }
    }

    pub(super) fn runtime_id(&self) -> &RuntimeId {
        &self.runtime_id
    }

    /// The URL of `path` (such as `/v1/events`) under the endpoint.
    pub(super) fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.prefix)).expect("the endpoint and a path make a URL")
    }

    /// The `Authorization` header, read from the token reference now; fails closed when it cannot be read.
    pub(super) fn authorization(&self) -> Result<Option<HeaderValue>, ApiError> {
        let Some(token) = &self.token else { return Ok(None) };
        let fail = || {
            ApiError::new(
                ErrorCode::RuntimeAuthFailed,
                format!("the backend's token for runtime {} cannot be read", self.runtime_id),
            )
        };
        let secret = token.resolve().map_err(|error| {
            tracing::warn!(runtime_id = %self.runtime_id, %error, "cannot read a remote runtime's token");
            fail()
        })?;
        let mut value = HeaderValue::try_from(format!("Bearer {}", secret.expose())).map_err(|_| fail())?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// The summary, judged by [`classify::summary`]: the one place that decides whether a remote speaks
    /// this protocol.
    pub(super) async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        let request = Outgoing { call: Call::Read, method: "GET", path: "/v1/runtime".to_owned(), body: None };
        let summary = self.send(request, None, |id, status, body| classify::summary(id, status, &body)).await?;
        *self.verified.lock() = Verified::Compatible(Traits::of(&summary));
        Ok(summary)
    }

    /// Makes sure the remote speaks this protocol before the first call and after connections failed.
    pub(super) async fn verify(&self) -> Result<Traits, ApiError> {
        if let Some(traits) = self.traits() {
            return Ok(traits);
        }
        self.summary().await.map(|summary| Traits::of(&summary))
    }

    /// `GET path?query`.
    pub(super) async fn get<T: DeserializeOwned>(&self, path: &str, query: &impl Serialize) -> Result<T, ApiError> {
        self.verify().await?;
        let query = serde_urlencoded::to_string(query).map_err(|_| ApiError::internal())?;
        let path = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        let request = Outgoing { call: Call::Read, method: "GET", path, body: None };
        self.send(request, None, |id, status, body| classify::answer(id, status, &body)).await
    }

    /// `GET path`, its successful answer as the bytes that came (errors as for [`Client::get`]).
    pub(super) async fn get_bytes(&self, path: String) -> Result<Bytes, ApiError> {
        self.verify().await?;
        let request = Outgoing { call: Call::Read, method: "GET", path, body: None };
        self.send(request, None, classify::bytes).await
    }

    /// `POST path` with a JSON body, under `key`; sent again on a fresh connection when the remote
    /// remembers keys and the first connection died before an answer.
    pub(super) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        key: &IdempotencyKey,
    ) -> Result<T, ApiError> {
        self.post_decoded(path, body, key, |id, status, body| classify::answer(id, status, &body)).await
    }

    /// [`post`](Self::post), its answer judged by `decode`.
    pub(super) async fn post_decoded<T>(
        &self,
        path: &str,
        body: &impl Serialize,
        key: &IdempotencyKey,
        decode: fn(&RuntimeId, u16, Bytes) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let traits = self.verify().await?;
        let body = serde_json::to_vec(body).map_err(|_| ApiError::internal())?;
        let request = Outgoing { call: Call::Command, method: "POST", path: path.to_owned(), body: Some(body) };
        let key = Keyed { key, repeatable: traits.idempotent };
        self.send(request, Some(key), decode).await
    }

    async fn send<T>(
        &self,
        outgoing: Outgoing,
        key: Option<Keyed<'_>>,
        decode: fn(&RuntimeId, u16, Bytes) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let (limit, retries) = match outgoing.call {
            Call::Read => (self.timeouts.read, READ_RETRIES),
            Call::Command if key.as_ref().is_some_and(|k| k.repeatable) => (self.timeouts.command, COMMAND_RETRIES),
            Call::Command => (self.timeouts.command, 0),
        };
        // A call that may not be repeated waits its whole limit on its one attempt.
        let per_attempt = if retries > 0 { self.timeouts.attempt.min(limit) } else { limit };
        let authorization = self.authorization()?;
        let mut headers = Vec::with_capacity(3);
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_bytes()));
        }
        if let Some(key) = &key {
            headers.push((IDEMPOTENCY_KEY_HEADER, key.key.as_str().as_bytes()));
        }
        if outgoing.body.is_some() {
            headers.push(("content-type", b"application/json".as_slice()));
        }
        let request = wire::Request {
            method: outgoing.method,
            target: &outgoing.path,
            host: &self.host,
            headers: &headers,
            body: outgoing.body.as_deref(),
        };
        let request = request.encode().ok_or_else(ApiError::internal)?;
        let mut attempt = 0;
        loop {
            let left = limit.saturating_sub(started.elapsed());
            let failure = match tokio::time::timeout(per_attempt.min(left), self.exchange(&request)).await {
                Ok(Ok((status, answer))) => return decode(&self.runtime_id, status, answer),
                Ok(Err(failure)) => failure,
                Err(_) => Failure::Timeout,
            };
            // The remote may have been restarted or replaced: check its protocol again next time, on
            // connections made after this failure.
            *self.verified.lock() = Verified::Unknown;
            self.connections.forget_all();
            let pause = jittered(RETRY_PAUSE * 2u32.pow(attempt));
            if attempt < retries && failure.retryable() && started.elapsed() + pause < limit {
                attempt += 1;
                tokio::time::sleep(pause).await;
                continue;
            }
            tracing::debug!(runtime_id = %self.runtime_id, ?failure, attempts = attempt + 1, "remote call failed");
            // The limit, not the time spent: a call that gives up because another attempt would not fit, or
            // whose timer fired late, was still bounded by it, and calls that met the same limit say the same.
            return Err(failure.error(&self.runtime_id, limit));
        }
    }

    /// Sends one request and reads the whole (bounded) answer, keeping the connection for the next call
    /// when it can carry one.
    async fn exchange(&self, request: &[u8]) -> Result<(u16, Bytes), Failure> {
        let mut connection = self.connections.take().await?;
        let answer = wire::exchange(&mut connection.stream, request, MAX_ANSWER_BYTES).await?;
        if answer.reusable {
            self.connections.give_back(connection);
        }
        Ok((answer.status, answer.body))
    }
}

/// One request, before it is sent.
struct Outgoing {
    call: Call,
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
}

/// A command's idempotency key, and whether the remote honours it (so the command may be sent again).
struct Keyed<'a> {
    key: &'a IdempotencyKey,
    repeatable: bool,
}

/// `Host` for requests to `base`: its host, and its port unless that is the scheme's default.
fn host_header(base: &Url) -> String {
    let host = base.host_str().unwrap_or_default();
    match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// `pause` plus up to as much again, so clients that failed together do not retry together.
pub(super) fn jittered(pause: Duration) -> Duration {
    let random = RandomState::new().hash_one(std::time::Instant::now());
    pause + pause.mul_f64((random % 1000) as f64 / 1000.0)
}
