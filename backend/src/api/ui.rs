//! The web UI (settings-ui): embedded static files, served with a Content-Security-Policy that forbids inline
//! scripts, so nothing injected into a page can run.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use runtime_api::ApiError;

use api_http::HttpError;

/// Serves an embedded file for a `GET` of its path; anything else is an unknown route.
pub(crate) async fn serve(request: Request) -> Response {
    let path = request.uri().path();
    match settings_ui::asset(path).filter(|_| request.method() == Method::GET || request.method() == Method::HEAD) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(settings_ui::CONTENT_SECURITY_POLICY)),
                (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
                (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            ],
            asset.body,
        )
            .into_response(),
        None => {
            HttpError(ApiError::invalid(format!("no such endpoint: {} {}", request.method(), path))).into_response()
        }
    }
}
