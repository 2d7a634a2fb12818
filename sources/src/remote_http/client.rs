//! REST calls to a remote runtime: one pooled hyper client, a deadline per operation, bounded answers,
//! retries for idempotent reads only, and a protocol check before the first call.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;
use runtime_api::{ApiError, ErrorCode, RuntimeId, RuntimeSummary};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::RemoteTimeouts;
use super::classify::{self, Failure};
use secrets::SecretRef;

/// How many times an idempotent read is retried after a failure that may pass.
const READ_RETRIES: u32 = 2;
/// First pause before a retry; doubled each time, with jitter.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Largest answer read from a remote; a bigger one is not the protocol (pages are bounded) and is refused
/// rather than buffered.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

type Http = HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Whether the remote was found to speak this protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verified {
    /// Not checked since start or since the connection last failed (the remote may have been replaced).
    Unknown,
    /// It speaks this protocol.
    Compatible,
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
    token: Option<SecretRef>,
    http: Http,
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
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(timeouts.connect));
        tcp.set_nodelay(true);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http =
            HyperClient::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(connector);
        let prefix = base.as_str().trim_end_matches('/').to_owned();
        Client { runtime_id, prefix, token, http, tls, timeouts, verified: Mutex::new(Verified::Unknown) }
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
        let summary = self.send(Call::Read, Method::GET, "/v1/runtime".to_owned(), None, classify::summary).await?;
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
    pub(super) async fn get<T: DeserializeOwned>(&self, path: &str, query: &impl Serialize) -> Result<T, ApiError> {
        self.verify().await?;
        let query = serde_urlencoded::to_string(query).map_err(|_| ApiError::internal())?;
        let path = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        self.send(Call::Read, Method::GET, path, None, classify::answer).await
    }

    /// `POST path` with a JSON body.
    pub(super) async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ApiError> {
        self.verify().await?;
        let body = Bytes::from(serde_json::to_vec(body).map_err(|_| ApiError::internal())?);
        self.send(Call::Command, Method::POST, path.to_owned(), Some(body), classify::answer).await
    }

    async fn send<T>(
        &self,
        call: Call,
        method: Method,
        path: String,
        body: Option<Bytes>,
        decode: fn(&RuntimeId, u16, &[u8]) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let limit = match call {
            Call::Read => self.timeouts.read,
            Call::Command => self.timeouts.command,
        };
        let uri: Uri = format!("{}{path}", self.prefix).parse().map_err(|_| ApiError::internal())?;
        let authorization = self.authorization()?;
        let mut attempt = 0;
        loop {
            let mut request = Request::builder().method(method.clone()).uri(uri.clone());
            if let Some(authorization) = &authorization {
                request = request.header(AUTHORIZATION, authorization.clone());
            }
            if body.is_some() {
                request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            let request =
                request.body(Full::new(body.clone().unwrap_or_default())).map_err(|_| ApiError::internal())?;
            let failure = match tokio::time::timeout(limit, self.exchange(request)).await {
                Ok(Ok((status, answer))) => return decode(&self.runtime_id, status, &answer),
                Ok(Err(failure)) => failure,
                Err(_) => Failure::Timeout,
            };
            // The remote may have been restarted or replaced: check its protocol again next time.
            *self.verified.lock() = Verified::Unknown;
            if call == Call::Read && failure.retryable() && attempt < READ_RETRIES {
                attempt += 1;
                tokio::time::sleep(jittered(RETRY_PAUSE * 2u32.pow(attempt - 1))).await;
                continue;
            }
            tracing::debug!(runtime_id = %self.runtime_id, ?failure, "remote call failed");
            return Err(failure.error(&self.runtime_id, limit));
        }
    }

    /// Sends one request and reads the whole (bounded) answer.
    async fn exchange(&self, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), Failure> {
        let response = self.http.request(request).await.map_err(|e| classify::transport(&e))?;
        let status = response.status().as_u16();
        let answer = Limited::new(response.into_body(), MAX_ANSWER_BYTES).collect().await.map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                Failure::Protocol
            } else {
                classify::transport(&*error)
            }
        })?;
        Ok((status, answer.to_bytes()))
    }
}

/// `pause` plus up to as much again, so clients that failed together do not retry together.
pub(super) fn jittered(pause: Duration) -> Duration {
    let random = RandomState::new().hash_one(std::time::Instant::now());
    pause + pause.mul_f64((random % 1000) as f64 / 1000.0)
}
