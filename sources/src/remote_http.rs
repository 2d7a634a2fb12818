//! The remote-http source: the backend's client of a `worker-runtime` process (SPEC §4) — REST for commands
//! and reads, a resumable WebSocket for events.
//!
//! Where the runtime lives and how to authenticate to it stay inside this source: the endpoint and token
//! reference are private fields with no `Debug` or `Display`, every error message is written here from the
//! kind of failure rather than copied from a client library, and the token is read just before each use.

mod classify;
mod client;
pub mod endpoint;
mod keys;
mod pool;
pub mod spec;
mod stream;
mod tls;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use runtime_api::{
    ApiError, Command, CommandAck, DetailAnswer, FrameStream, IdempotencyKey, ListQuery, ProfileList, Relabel,
    RuntimeId, RuntimeSource, RuntimeSummary, SourceDescriptor, SourceKind, SubscribeRequest, TranscriptPage,
    TranscriptQuery, VerbatimDetail, WorkerDetail, WorkerId, WorkerPage,
};
use url::Url;

use client::Client;
use secrets::SecretRef;

/// How a remote runtime is reached.
pub struct RemoteOptions {
    /// The id it is registered under.
    pub runtime_id: RuntimeId,
    /// Its display name.
    pub display_name: String,
    /// Its base URL (`http` or `https`); the runtime API lives under `/v1` of it.
    pub endpoint: Url,
    /// Where the bearer token is read from, if the runtime wants one.
    pub token_ref: Option<SecretRef>,
    /// An extra CA certificate (PEM) to trust for `https` and `wss`.
    pub ca_file: Option<PathBuf>,
    /// Time limits.
    pub timeouts: RemoteTimeouts,
}

/// Time limits of a remote's calls; they sit inside the backend stack's own deadlines.
#[derive(Debug, Clone, Copy)]
pub struct RemoteTimeouts {
    /// Opening a TCP connection.
    pub connect: Duration,
    /// One attempt of a call that may be tried again: past this the connection is taken for dead and the
    /// call is retried on a fresh one.
    pub attempt: Duration,
    /// A read (and opening an event stream), all attempts together.
    pub read: Duration,
    /// A command, which the runtime answers once durable, all attempts together.
    pub command: Duration,
    /// Longest pause between attempts to resume an event stream.
    pub reconnect_max: Duration,
    /// How long an event stream keeps trying to resume before it ends with `source_failed`.
    pub reconnect_window: Duration,
}

impl RemoteTimeouts {
    /// Limits that end before a caller's `read` and `command` deadlines (at four fifths of each), so a remote
    /// that does not answer is reported by this client, which knows how the call failed, rather than by the
    /// caller's deadline. An attempt gets a quarter of the read limit (at least 250 ms, at most 5 s): the
    /// runtime answers reads and commands in milliseconds, so one that takes longer is most likely on a
    /// connection that died.
    pub fn inside(read: Duration, command: Duration) -> Self {
        let read = read.mul_f64(0.8);
        let attempt = (read / 4).clamp(Duration::from_millis(250), Duration::from_secs(5));
        RemoteTimeouts {
            connect: attempt,
            attempt,
            read,
            command: command.mul_f64(0.8),
            reconnect_max: Duration::from_secs(5),
            reconnect_window: Duration::from_secs(60),
        }
    }

    /// The same limits with another longest pause between stream resumption attempts.
    pub fn with_reconnect_max(mut self, pause: Duration) -> Self {
        self.reconnect_max = pause;
        self
    }

    /// The same limits with another time an event stream keeps trying to resume.
    pub fn with_reconnect_window(mut self, window: Duration) -> Self {
        self.reconnect_window = window;
        self
    }
}

/// Inside a 10 s read and 30 s command deadline, the backend's defaults; the backend itself always derives
/// its remotes' limits from its own deadlines.
impl Default for RemoteTimeouts {
    fn default() -> Self {
        RemoteTimeouts::inside(Duration::from_secs(10), Duration::from_secs(30))
    }
}

/// Why a remote source could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RemoteSetupError {
    /// The extra CA certificate cannot be used.
    #[error("the CA certificate file cannot be used: {0}")]
    CaFile(String),
    /// TLS could not be configured.
    #[error("TLS cannot be configured: {0}")]
    Tls(String),
}

/// A [`RuntimeSource`] over a `worker-runtime` process.
pub struct RemoteHttpSource {
    descriptor: SourceDescriptor,
    client: Arc<Client>,
    keys: keys::CommandKeys,
}

impl RemoteHttpSource {
    /// A source for the runtime `options` describe. Nothing is contacted yet: a remote that is down now is
    /// simply unavailable until it comes up.
    pub fn new(options: RemoteOptions) -> Result<Self, RemoteSetupError> {
        let tls = tls::client_config(options.ca_file.as_deref())?;
        let client =
            Client::new(options.runtime_id.clone(), &options.endpoint, options.token_ref, tls, options.timeouts);
        let descriptor = SourceDescriptor {
            runtime_id: options.runtime_id,
            display_name: options.display_name,
            kind: SourceKind::RemoteHttp,
        };
        Ok(RemoteHttpSource { descriptor, client: Arc::new(client), keys: keys::CommandKeys::new() })
    }
}

impl RemoteHttpSource {
    /// The answer, speaking for the id this source is registered under rather than the remote's own.
    fn relabelled<T: Relabel>(&self, answer: Result<T, ApiError>) -> Result<T, ApiError> {
        answer.map(|mut value| {
            value.relabel(&self.descriptor.runtime_id);
            value
        })
    }
}

/// The query of calls that take none.
const NO_QUERY: [(&str, &str); 0] = [];

fn worker_path(worker_id: &WorkerId, rest: &str) -> String {
    const WORKERS: &str = "/v1/workers/";
    let mut path = String::with_capacity(WORKERS.len() + worker_id.as_str().len() + rest.len());
    path.push_str(WORKERS);
    path.push_str(worker_id.as_str());
    path.push_str(rest);
    path
}

#[async_trait]
impl RuntimeSource for RemoteHttpSource {
    fn describe(&self) -> SourceDescriptor {
        self.descriptor.clone()
    }

    async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        self.relabelled(self.client.summary().await)
    }

    async fn list(&self, query: ListQuery) -> Result<WorkerPage, ApiError> {
        self.relabelled(self.client.get("/v1/workers", &query).await)
    }

    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        self.relabelled(self.client.get(&worker_path(worker_id, ""), &NO_QUERY).await)
    }

    async fn get_verbatim(&self, worker_id: &WorkerId) -> Result<DetailAnswer, ApiError> {
        let bytes = self.client.get_bytes(worker_path(worker_id, "")).await?;
        let runtime_id = &self.descriptor.runtime_id;
        // Bytes that re-encoding would change are decoded and relabelled the long way.
        if let Some(verbatim) = VerbatimDetail::check(bytes.clone(), runtime_id) {
            return Ok(DetailAnswer::Verbatim(verbatim));
        }
        let detail = classify::answer(runtime_id, 200, &bytes);
        self.relabelled(detail).map(DetailAnswer::Decoded)
    }

    async fn command(&self, command: Command, key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        // Every command carries a key, so one the backend sends again after a lost connection lands once.
        let key = key.unwrap_or_else(|| self.keys.next());
        let client = &self.client;
        let ack = match command {
            Command::Create(request) => CommandAck::Create(client.post("/v1/workers", &request, &key).await?),
            Command::Input(id, request) => {
                let path = worker_path(&id, "/input");
                let decode = |id: &RuntimeId, status, body: Bytes| classify::input_ack(id, status, &body);
                CommandAck::Input(client.post_decoded(&path, &request, &key, decode).await?)
            }
            Command::Stop(id, request) => {
                CommandAck::Stop(client.post(&worker_path(&id, "/stop"), &request, &key).await?)
            }
            Command::Cancel(id, request) => {
                CommandAck::Cancel(client.post(&worker_path(&id, "/cancel"), &request, &key).await?)
            }
        };
        self.relabelled(Ok(ack))
    }

    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        self.client.get(&worker_path(worker_id, "/transcript"), &query).await
    }

    async fn profiles(&self) -> Result<ProfileList, ApiError> {
        let summary = self.client.summary().await?;
        if summary.protocol.has(runtime_api::runtime::feature::PROFILES) {
            return self.client.get("/v1/profiles", &NO_QUERY).await;
        }
        // A runtime from before the profiles API still lists names and executors in its capabilities.
        Ok(ProfileList { profiles: summary.capabilities.profiles })
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        let frames = stream::subscribe(self.client.clone(), request).await?;
        let runtime_id = self.descriptor.runtime_id.clone();
        Ok(Box::pin(futures::StreamExt::map(frames, move |mut frame| {
            frame.relabel(&runtime_id);
            frame
        })))
    }
}
