//! The `openai` executor (feature `openai`): one streamed `POST {base_url}/chat/completions` per turn, to any
//! OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp's server, LiteLLM, ...).
//!
//! A turn resolves the profile's key reference, sends the conversation with `stream: true`, retries what
//! failed before the first token when retrying is safe, then turns the server-sent events into deltas and
//! reply facts. Every failure becomes an [`ExecutorError`] with a typed reason and a message scrubbed of the
//! key, the base URL and the provider's address: a remote runtime's provider is invisible to the backend's
//! sanitizer, so the runtime must not let them out. Dropping the turn's future (cancel, stop, interrupt)
//! drops the response, which closes its connection at once.

mod failure;
mod request;
mod retry;
mod scrub;
mod stream;

use std::time::Duration;

use async_trait::async_trait;
use runtime_api::FailureReason;
use tokio::time::Instant;

use super::{Executor, ExecutorError, TurnContext, TurnOutput};
use crate::profile::OpenAiSettings;
use scrub::Scrubber;
use secrets::Secret;

/// Longest a TCP (and TLS) connection to the provider may take to open, within the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs turns against an OpenAI-compatible chat completions endpoint.
pub struct OpenAiExecutor {
    settings: OpenAiSettings,
    /// `{base_url}/chat/completions`.
    endpoint: String,
    http: reqwest::Client,
    /// Knows the address and key reference; learns the key per turn.
    scrubber: Scrubber,
}

/// Why an executor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OpenAiSetupError {
    /// The HTTP client (its TLS roots, say) could not be initialised.
    #[error("the HTTP client of the openai executor cannot be set up")]
    Client,
    /// `base_url` is not a URL the client can send to (the text is not repeated: it may be private).
    #[error("base_url is not a valid http(s) URL")]
    BaseUrl,
}

impl OpenAiExecutor {
    /// An executor for `settings`; nothing is contacted until a turn runs.
    pub fn new(settings: OpenAiSettings) -> Result<Self, OpenAiSetupError> {
        let parsed = reqwest::Url::parse(&settings.base_url).map_err(|_| OpenAiSetupError::BaseUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(OpenAiSetupError::BaseUrl);
        }
        let http = reqwest::Client::builder()
            // A redirect would resend the key somewhere the operator did not name.
            .redirect(reqwest::redirect::Policy::none())
            // Proxies from the environment would reroute provider traffic unannounced; see docs/executors.md.
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT.min(settings.request_timeout))
            .tcp_nodelay(true)
            .user_agent(concat!("yoi-worker-runtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| OpenAiSetupError::Client)?;
        let endpoint = format!("{}/chat/completions", settings.base_url);
        let scrubber = Scrubber::for_provider(&settings.base_url, settings.api_key.as_ref());
        Ok(OpenAiExecutor { settings, endpoint, http, scrubber })
    }

    /// Reads the key now, so a rotated key file takes effect at the next turn.
    async fn api_key(&self) -> Result<Option<Secret>, ExecutorError> {
        let Some(reference) = self.settings.api_key.clone() else { return Ok(None) };
        let resolved = tokio::task::spawn_blocking(move || reference.resolve())
            .await
            .map_err(|_| ExecutorError::other("reading the API key was interrupted"))?;
        resolved.map(Some).map_err(|error| {
            // The error names neither the variable nor the file (see `secret`).
            ExecutorError::new(
                FailureReason::ProviderCredentialsMissing,
                format!("the profile's API key cannot be read: {error}"),
            )
        })
    }

    async fn turn(&self, turn: TurnContext, output: &mut dyn TurnOutput) -> Result<(), ExecutorError> {
        let started = Instant::now();
        let first_token_by = started + self.settings.request_timeout;
        let key = self.api_key().await?;
        let scrubber = self.scrubber.with_key(key.as_ref());
        let body = request::body(&self.settings, &turn);
        let response = self.send(body, key.as_ref(), first_token_by, &scrubber).await?;
        let limits = stream::Limits {
            first_token_by,
            idle: self.settings.idle_timeout,
            request_timeout: self.settings.request_timeout,
        };
        stream::read(response, output, limits, &scrubber).await
    }

    /// Sends the request, retrying failures that happened before any output and that may pass; returns
    /// the successful response with its body unread.
    async fn send(
        &self,
        body: Vec<u8>,
        key: Option<&Secret>,
        first_token_by: Instant,
        scrubber: &Scrubber,
    ) -> Result<reqwest::Response, ExecutorError> {
        let mut attempt = 0;
        loop {
            let exchange = async {
                let response = self.request(body.clone(), key).send().await;
                match response {
                    Ok(response) if response.status().is_success() => Ok(response),
                    Ok(response) => {
                        Err(failure::from_response(response, &self.settings, key.is_some(), scrubber).await)
                    }
                    Err(error) => Err(failure::from_transport(&error)),
                }
            };
            let failed = match tokio::time::timeout_at(first_token_by, exchange).await {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(failed)) => failed,
                Err(_) => return Err(failure::no_first_token(self.settings.request_timeout)),
            };
            if !failed.retryable || attempt >= self.settings.max_retries {
                return Err(failed.error);
            }
            let pause = retry::pause(attempt, failed.retry_after);
            if Instant::now() + pause >= first_token_by {
                return Err(failure::out_of_time(failed));
            }
            tracing::debug!(attempt, reason = %failed.error.reason, "retrying a model request");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    fn request(&self, body: Vec<u8>, key: Option<&Secret>) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .body(body);
        match key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }
}

#[async_trait]
impl Executor for OpenAiExecutor {
    async fn run(&self, turn: TurnContext, output: &mut dyn TurnOutput) -> Result<(), ExecutorError> {
        let (worker_id, turn_id) = (turn.worker_id.clone(), turn.turn_id);
        self.turn(turn, output).await.inspect_err(|error| {
            // The message is already scrubbed; the model name is the operator's own configuration.
            tracing::warn!(%worker_id, turn_id, model = %self.settings.model, reason = %error.reason,
                error = %error.message, "model turn failed");
        })
    }
}
