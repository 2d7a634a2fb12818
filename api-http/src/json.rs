//! JSON answers, written into one buffer sized for a typical answer.
//!
//! axum's `Json` starts from 128 bytes and grows while serde writes, piece by piece; a worker's detail
//! outgrows that several times over. This one starts where most answers of both APIs end, so an answer is
//! usually written without a single copy.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use runtime_api::ApiError;
use serde::Serialize;

use crate::HttpError;

/// Room reserved up front: a worker's detail or a short page fits.
const INITIAL_CAPACITY: usize = 1024;

/// A JSON answer (`application/json`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(INITIAL_CAPACITY);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => JsonBytes(body.into()).into_response(),
            // Only a type that cannot be JSON fails here (a map with non-string keys): a bug, not a request.
            Err(error) => {
                tracing::error!(%error, "an answer could not be written as JSON");
                HttpError(ApiError::internal()).into_response()
            }
        }
    }
}

/// A JSON answer whose bytes are already written (a remote's, forwarded as they came).
#[derive(Debug, Clone)]
pub struct JsonBytes(pub axum::body::Bytes);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        let mut response = Response::new(self.0.into());
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn writes_the_value_as_json_with_its_content_type() {
        let response = Json(serde_json::json!({"a": [1, 2], "b": "x".repeat(2000)})).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let back: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(back["a"], serde_json::json!([1, 2]));
        assert_eq!(back["b"].as_str().unwrap().len(), 2000);
    }
}
