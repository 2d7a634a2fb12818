//! The one JSON error shape of the Browser API, and extractors whose rejections use it.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Json;
use runtime_api::{ApiError, ErrorCode, ErrorEnvelope, IDEMPOTENCY_KEY_HEADER, IdempotencyKey};
use serde::de::DeserializeOwned;

use crate::limits::BodyDeadline;

/// An [`ApiError`] on its way out as an HTTP response.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        HttpError(error)
    }
}

impl From<runtime_api::IdError> for HttpError {
    fn from(error: runtime_api::IdError) -> Self {
        HttpError(error.into())
    }
}

impl IntoResponse for HttpError {
    /// Sends the error as it is: `internal` errors carry "internal error" from where they are made
    /// ([`ApiError::internal`], and the backend's stack for what a source sends), never detail.
    fn into_response(self) -> Response {
        let error = self.0;
        let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = error.retry_after_s.map(|seconds| axum::http::HeaderValue::from(seconds.get()));
        let mut response = (status, Json(ErrorEnvelope { error })).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds);
        }
        response
    }
}

/// Handler result: a JSON body or the error shape.
pub type ApiResult<T> = Result<T, HttpError>;

/// A JSON request body whose rejections are typed errors (`invalid_request`, `payload_too_large`,
/// `request_timeout`). It must be sent as `application/json` (or `application/*+json`) and be an object:
/// every body of both APIs is one, and serde would otherwise read a struct from an array.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        if !is_json(request.headers()) {
            return Err(not_json(request.headers().get(header::CONTENT_TYPE)));
        }
        object(&read_body(request, state).await?).map(ApiJson)
    }
}

/// A JSON body that may be left out entirely (create, stop and cancel take only optional fields): an empty
/// body means no fields (whitespace is not empty: it is a body, and not JSON). A body that is there follows the rules of [`ApiJson`]; so does a content type
/// that is sent, even on an empty body — a form or `text/plain` post is what a cross-site page can send
/// without asking, so it is refused however little it carries. `null` is not an object, and is refused.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        let typed = request.headers().contains_key(header::CONTENT_TYPE);
        if typed && !is_json(request.headers()) {
            return Err(not_json(request.headers().get(header::CONTENT_TYPE)));
        }
        let body = read_body(request, state).await?;
        if body.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        if !typed {
            return Err(not_json(None));
        }
        object(&body).map(OptionalJson)
    }
}

/// The `Idempotency-Key` header of a command, if the client sent one; a malformed key is `invalid_request`.
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY_HEADER) else { return Ok(IdempotencyHeader(None)) };
        // Bytes that are not text become replacement characters, which the key's own check refuses.
        let text = String::from_utf8_lossy(value.as_bytes());
        Ok(IdempotencyHeader(Some(IdempotencyKey::parse(text)?)))
    }
}

/// Path parameters whose rejections (bad percent-encoding, say) are `invalid_request`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|e: PathRejection| HttpError(ApiError::invalid(e.body_text())))
    }
}

/// Query parameters whose rejections are `invalid_request`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e: QueryRejection| HttpError(ApiError::invalid(e.body_text())))
    }
}

/// Whether the body is declared as JSON: `application/json` or `application/<anything>+json`, with any
/// parameters (the same rule as axum's `Json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return false };
    // The type nearly every client sends, checked before the general rule's parsing.
    if value.as_bytes().eq_ignore_ascii_case(b"application/json") {
        return true;
    }
    let Ok(value) = value.to_str() else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else { return false };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// `invalid_request` naming the content type that was sent instead of JSON.
fn not_json(content_type: Option<&HeaderValue>) -> HttpError {
    let message = match content_type {
        None => "the request body must be sent as application/json (no content type was given)".to_owned(),
        Some(value) => {
            // Shown back to the client, so only printable ASCII and not much of it.
            let shown: String = String::from_utf8_lossy(value.as_bytes())
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(100)
                .collect();
            format!("the request body must be sent as application/json, not {shown}")
        }
    };
    HttpError(ApiError::invalid(message))
}

/// The body read as `T`, if it is a JSON object.
fn object<T: DeserializeOwned>(body: &Bytes) -> Result<T, HttpError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(HttpError(ApiError::invalid("the request body must be a JSON object")));
    }
    // The plain decoder accepts exactly what axum's would (it wraps this one to track the path to an
    // error) and costs half as much; only a body it refuses is read again, for the message naming where.
    serde_json::from_slice(body).or_else(|_| {
        axum::Json::<T>::from_bytes(body)
            .map(|axum::Json(value)| value)
            .map_err(|rejection| HttpError(ApiError::invalid(rejection.body_text())))
    })
}

/// The whole body, by the deadline [`RequestLimits`](crate::RequestLimits) set: too large is `413`, too
/// slow `408 request_timeout`, cut off `400`.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, HttpError> {
    let deadline = request.extensions().get::<BodyDeadline>().copied();
    let read = Bytes::from_request(request, state);
    let read = match deadline {
        // The timer is only set if the body is not already there.
        Some(deadline) => tokio::time::timeout_at(deadline.at, read).await.map_err(|_| {
            let message = format!("the request body did not arrive within {}s", deadline.limit.as_secs_f32());
            HttpError(ApiError::new(ErrorCode::RequestTimeout, message))
        })?,
        None => read.await,
    };
    read.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return HttpError(ApiError::new(ErrorCode::PayloadTooLarge, "the request body is over the size limit"));
        }
        HttpError(ApiError::invalid(rejection.body_text()))
    })
}

#[cfg(test)]
mod tests;
