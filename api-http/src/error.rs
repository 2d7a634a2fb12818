//! The one JSON error shape of the Browser API, and extractors whose rejections use it.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Bytes};
use runtime_api::{ApiError, ErrorCode, ErrorEnvelope, IDEMPOTENCY_KEY_HEADER, IdempotencyKey};
use serde::de::DeserializeOwned;

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

/// A JSON request body whose rejections are typed errors (`invalid_request`, `payload_too_large`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        Json::<T>::from_request(request, state).await.map(|Json(value)| ApiJson(value)).map_err(json_rejection)
    }
}

/// A JSON body that may be left out entirely (stop and cancel take an optional reason).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        let json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
        let body = Bytes::from_request(request, state).await.map_err(|e| body_rejection(e.status(), e.body_text()))?;
        // Tools like `curl -d ''` send an empty body with some form type; nothing sent means no fields.
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if !json {
            return Err(HttpError(ApiError::invalid("the request body must be sent as application/json")));
        }
        serde_json::from_slice(&body)
            .map(OptionalJson)
            .map_err(|e| HttpError(ApiError::invalid(format!("the request body is not valid: {e}"))))
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

fn json_rejection(rejection: JsonRejection) -> HttpError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            HttpError(ApiError::invalid("the request body must be sent as application/json"))
        }
        other => body_rejection(other.status(), other.body_text()),
    }
}

fn body_rejection(status: StatusCode, text: String) -> HttpError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return HttpError(ApiError::new(ErrorCode::PayloadTooLarge, "the request body is over the size limit"));
    }
    HttpError(ApiError::invalid(text))
}
