//! REST calls to a remote runtime: one pooled client, a deadline per operation, retries for idempotent
//! reads only, and a protocol check before the first call.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use runtime_api::{ApiError, ErrorCode, RuntimeId, RuntimeSummary};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::RemoteTimeouts;
use super::classify::{self, Failure};
use crate::secret::SecretRef;

/// How many times an idempotent read is retried after a failure that may pass.
const READ_RETRIES: u32 = 2;
/// First pause before a retry; doubled each time, with jitter.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Whether the remote was found to speak this protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verified {
    /// Not checked since start or since the connection last failed (the remote may have been replaced).
    Unknown,
    /// It speaks this protocol.
    Compatible,
}

/// The connection to one remote runtime. Its endpoint and token reference never leave this type.
pub(super) struct Client {
    runtime_id: RuntimeId,
    /// The endpoint, with a trailing slash so paths join under it.
    base: Url,
    token: Option<SecretRef>,
    http: reqwest::Client,
    pub(super) tls: Arc<rustls::ClientConfig>,
    pub(super) timeouts: RemoteTimeouts,
    verified: Mutex<Verified>,
}

/// What a call does, which decides its deadline and whether it may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    /// Idempotent: summary, list, detail, transcript.
    Read,
    /// Changes the runtime: never sent twice.
    Command,
}

impl Client {
    pub(super) fn new(
        runtime_id: RuntimeId,
        mut base: Url,
        token: Option<SecretRef>,
        tls: Arc<rustls::ClientConfig>,
        timeouts: RemoteTimeouts,
    ) -> Result<Self, reqwest::Error> {
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .connect_timeout(timeouts.connect)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            // The backend never follows a remote elsewhere: a redirect is not the protocol.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client { runtime_id, base, token, http, tls, timeouts, verified: Mutex::new(Verified::Unknown) })
    }

    pub(super) fn runtime_id(&self) -> &RuntimeId {
        &self.runtime_id
    }

    /// The URL of `path` (relative, such as `v1/workers`) under the endpoint.
    pub(super) fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("paths are relative and valid")
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

    /// The summary, checking the protocol it advertises.
    pub(super) async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        let summary: RuntimeSummary =
            self.send(Call::Read, reqwest::Method::GET, "v1/runtime", &(), None::<&()>).await?;
        classify::check_protocol(&self.runtime_id, &summary.protocol)?;
        *self.verified.lock() = Verified::Compatible;
        Ok(summary)
    }

    /// Makes sure the remote speaks this protocol before the first call and after connections failed.
    pub(super) async fn verify(&self) -> Result<(), ApiError> {
        if *self.verified.lock() == Verified::Compatible {
            return Ok(());
        }
        self.summary().await.map(|_| ())
    }

    /// `GET path?query`.
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &(impl Serialize + Sync),
    ) -> Result<T, ApiError> {
        self.verify().await?;
        self.send(Call::Read, reqwest::Method::GET, path, query, None::<&()>).await
    }

    /// `POST path` with a JSON body.
    pub(super) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl Serialize + Sync),
    ) -> Result<T, ApiError> {
        self.verify().await?;
        self.send(Call::Command, reqwest::Method::POST, path, &(), Some(body)).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        call: Call,
        method: reqwest::Method,
        path: &str,
        query: &(impl Serialize + Sync),
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T, ApiError> {
        let limit = match call {
            Call::Read => self.timeouts.read,
            Call::Command => self.timeouts.command,
        };
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(method.clone(), self.url(path)).query(query).timeout(limit);
            if let Some(authorization) = self.authorization()? {
                request = request.header(AUTHORIZATION, authorization);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(bytes) => return classify::answer(&self.runtime_id, status, &bytes),
                        Err(error) => classify::transport(&error),
                    }
                }
                Err(error) => classify::transport(&error),
            };
            // The remote may have been restarted or replaced: check its protocol again next time.
            *self.verified.lock() = Verified::Unknown;
            if call == Call::Read && failure.retryable() && attempt < READ_RETRIES {
                attempt += 1;
                tokio::time::sleep(jittered(RETRY_PAUSE * 2u32.pow(attempt - 1))).await;
                continue;
            }
            log_failure(&self.runtime_id, failure);
            return Err(failure.error(&self.runtime_id, limit));
        }
    }
}

fn log_failure(runtime_id: &RuntimeId, failure: Failure) {
    tracing::debug!(runtime_id = %runtime_id, ?failure, "remote call failed");
}

/// `pause` plus up to as much again, so clients that failed together do not retry together.
pub(super) fn jittered(pause: Duration) -> Duration {
    let random = RandomState::new().hash_one(std::time::Instant::now());
    pause + pause.mul_f64((random % 1000) as f64 / 1000.0)
}
