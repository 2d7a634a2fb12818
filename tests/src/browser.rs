//! A [`RuntimeSource`] that speaks the backend's Browser API over real HTTP and WebSocket, so the contract
//! suite can check a runtime as a Browser sees it through the backend.

use async_trait::async_trait;
use backend::api::views::RuntimeView;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use runtime_api::{
    ApiError, Command, CommandAck, ErrorCode, ErrorEnvelope, FrameStream, IdempotencyKey, ListQuery, ProfileList,
    RuntimeSource, RuntimeSummary, SourceDescriptor, StreamFrame, SubscribeRequest, TranscriptPage, TranscriptQuery,
    WorkerDetail, WorkerId, WorkerPage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::Message;

/// One runtime of a backend, reached through its Browser API.
pub struct BrowserClient {
    /// `http://host:port`.
    base: String,
    descriptor: SourceDescriptor,
    http: reqwest::Client,
}

impl BrowserClient {
    /// A client of runtime `runtime_id` on the backend at `base` (`http://127.0.0.1:PORT`).
    pub async fn connect(base: &str, runtime_id: &str) -> Self {
        let http = reqwest::Client::new();
        let url = format!("{base}/api/runtimes/{runtime_id}");
        let view: RuntimeView = http.get(url).send().await.unwrap().json().await.unwrap();
        let descriptor =
            SourceDescriptor { runtime_id: view.runtime_id, display_name: view.display_name, kind: view.kind };
        BrowserClient { base: base.trim_end_matches('/').to_owned(), descriptor, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/runtimes/{}{path}", self.base, self.descriptor.runtime_id)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &impl Serialize,
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T, ApiError> {
        let mut request = self.http.request(method, self.url(path)).query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport(&e.to_string()))?;
        decode(response.status(), &response.bytes().await.map_err(|e| transport(&e.to_string()))?)
    }

    /// A command, under `key` when there is one, as a Browser sends it.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl Serialize + Sync),
        key: Option<&IdempotencyKey>,
    ) -> Result<T, ApiError> {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(key) = key {
            request = request.header(runtime_api::IDEMPOTENCY_KEY_HEADER, key.as_str());
        }
        let response = request.send().await.map_err(|e| transport(&e.to_string()))?;
        decode(response.status(), &response.bytes().await.map_err(|e| transport(&e.to_string()))?)
    }
}

fn transport(message: &str) -> ApiError {
    ApiError::new(ErrorCode::RuntimeUnavailable, format!("backend unreachable: {message}"))
}

/// A success body as `T`, or an error body as its [`ApiError`] (checking the status agrees with the code).
fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, ApiError> {
    if status.is_success() {
        return serde_json::from_slice(body).map_err(|e| panic!("a {status} body that is not the type: {e}"));
    }
    let envelope: ErrorEnvelope =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("a {status} answer without the error shape: {e}"));
    assert_eq!(status.as_u16(), envelope.error.code.http_status(), "status and code disagree: {:?}", envelope.error);
    Err(envelope.error)
}

const NO_QUERY: [(&str, &str); 0] = [];
const NO_BODY: Option<&()> = None;

#[async_trait]
impl RuntimeSource for BrowserClient {
    fn describe(&self) -> SourceDescriptor {
        self.descriptor.clone()
    }

    async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        let view: RuntimeView = self.call(Method::GET, "", &NO_QUERY, NO_BODY).await?;
        let missing = || ApiError::new(ErrorCode::RuntimeUnavailable, "the runtime did not answer");
        Ok(RuntimeSummary {
            runtime_id: view.runtime_id,
            own_id: None,
            display_name: view.display_name,
            status: view.status,
            workers: view.workers.ok_or_else(missing)?,
            capabilities: view.capabilities.ok_or_else(missing)?,
            protocol: view.protocol.ok_or_else(missing)?,
            log_id: view.log_id.ok_or_else(missing)?,
            last_event_seq: view.last_event_seq.ok_or_else(missing)?,
            heartbeat_ms: None,
        })
    }

    async fn list(&self, query: ListQuery) -> Result<WorkerPage, ApiError> {
        self.call(Method::GET, "/workers", &query, NO_BODY).await
    }

    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        self.call(Method::GET, &format!("/workers/{worker_id}"), &NO_QUERY, NO_BODY).await
    }

    async fn command(&self, command: Command, key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        let key = key.as_ref();
        Ok(match command {
            Command::Create(request) => CommandAck::Create(self.post("/workers", &request, key).await?),
            Command::Input(id, request) => {
                CommandAck::Input(self.post(&format!("/workers/{id}/input"), &request, key).await?)
            }
            Command::Stop(id, request) => {
                CommandAck::Stop(self.post(&format!("/workers/{id}/stop"), &request, key).await?)
            }
            Command::Cancel(id, request) => {
                CommandAck::Cancel(self.post(&format!("/workers/{id}/cancel"), &request, key).await?)
            }
        })
    }

    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        self.call(Method::GET, &format!("/workers/{worker_id}/transcript"), &query, NO_BODY).await
    }

    async fn profiles(&self) -> Result<ProfileList, ApiError> {
        self.call(Method::GET, "/profiles", &NO_QUERY, NO_BODY).await
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        let query = serde_json::to_value(&request).unwrap();
        let query: Vec<String> = query
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect();
        let url = format!("{}?{}", self.url("/events").replacen("http", "ws", 1), query.join("&"));
        let socket = match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => socket,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
                let body = response.body().clone().unwrap_or_default();
                return decode::<()>(status, &body).map(|()| unreachable!("an error status"));
            }
            Err(e) => return Err(transport(&e.to_string())),
        };
        Ok(frames(socket))
    }
}

/// The socket's text messages as frames; the stream ends when the socket does, and dropping it closes
/// the connection.
fn frames(
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> FrameStream {
    Box::pin(socket.filter_map(|message| async move {
        match message {
            Ok(Message::Text(text)) => {
                Some(serde_json::from_str::<StreamFrame>(&text).unwrap_or_else(|e| panic!("not a frame: {e}: {text}")))
            }
            _ => None,
        }
    }))
}
