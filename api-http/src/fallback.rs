//! Answers for requests no route takes, in the one error shape (SPEC §5 has no "no such route" code).

use axum::extract::Request;
use runtime_api::ApiError;

use crate::HttpError;

/// A path no route serves: `invalid_request` naming it.
pub async fn unknown_route(request: Request) -> HttpError {
    HttpError(ApiError::invalid(format!("no such endpoint: {} {}", request.method(), request.uri().path())))
}

/// A method the route does not take: `invalid_request` naming both.
pub async fn unknown_method(request: Request) -> HttpError {
    HttpError(ApiError::invalid(format!("{} is not allowed on {}", request.method(), request.uri().path())))
}
