//! Answers for requests no route takes, in the one error shape (SPEC §5 has no "no such route" code, so an
//! unknown path is `invalid_request`).

use axum::extract::Request;
use runtime_api::{ApiError, ErrorCode};

use crate::HttpError;

/// A path no route serves: `invalid_request` naming it.
pub async fn unknown_route(request: Request) -> HttpError {
    HttpError(ApiError::invalid(format!("no such endpoint: {} {}", request.method(), request.uri().path())))
}

/// A method the route does not take, as HTTP says it: `405 method_not_allowed` naming both, with the
/// `Allow` header axum adds to every method-not-allowed answer (an OpenAPI client checks the two agree).
pub async fn method_not_allowed(request: Request) -> HttpError {
    let message = format!("{} is not allowed on {}", request.method(), request.uri().path());
    HttpError(ApiError::new(ErrorCode::MethodNotAllowed, message))
}
