//! Signing in from the page (SPEC §10): the access token, given once, becomes an HttpOnly, SameSite=Strict
//! cookie the browser sends with every request and WebSocket; signing out clears it. Scripts send
//! `Authorization: Bearer` and never need this. The guard lets [`super::guard::SESSION_PATH`] through without
//! the token.

mod attempts;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use api_http::Json;
use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use runtime_api::{ApiError, ErrorCode, ErrorEnvelope};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::AppState;
use super::guard::{TOKEN_COOKIE, presents};
use crate::config::Secret;
use api_http::{ApiJson, ApiResult, HttpError};
use attempts::Attempts;

/// How long a browser keeps its sign-in: 30 days, or until it signs out or the token changes.
const COOKIE_MAX_AGE_SECS: u32 = 30 * 24 * 60 * 60;
/// Longest token a sign-in request may carry, in characters.
const MAX_TOKEN_LEN: usize = 1024;

/// The access token, if the backend wants one, and the wrong attempts to sign in with it.
pub struct SignIn {
    token: Option<Secret>,
    attempts: Attempts,
}

impl SignIn {
    /// Sign-in against `token`; `None` when the backend runs without authentication.
    pub fn new(token: Option<Secret>) -> Arc<Self> {
        Arc::new(SignIn { token, attempts: Attempts::default() })
    }

    fn view(&self, headers: &HeaderMap) -> SessionView {
        match &self.token {
            Some(token) => SessionView { auth: AuthKind::Token, signed_in: presents(headers, token) },
            None => SessionView { auth: AuthKind::None, signed_in: true },
        }
    }
}

/// Whether the backend asks for an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthKind {
    /// Every request carries the access token.
    Token,
    /// Started with `--no-auth`: nothing to sign in to.
    None,
}

/// Whether this browser (or script) is signed in.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionView {
    /// Whether the backend asks for an access token at all.
    auth: AuthKind,
    /// Whether this request carried the right token (always true without authentication).
    signed_in: bool,
}

/// Body of a sign-in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignInRequest {
    /// The access token the backend printed at start-up (or the configured one).
    #[schema(min_length = 1, max_length = 1024)]
    token: String,
}

/// Whether this request is signed in; answered without the token.
#[utoipa::path(get, path = "/api/session", tag = "session", responses((status = 200, body = SessionView)))]
pub(crate) async fn status(State(state): State<AppState>, headers: HeaderMap) -> Json<SessionView> {
    Json(state.sign_in.view(&headers))
}

/// Exchanges the access token for the sign-in cookie (HttpOnly, SameSite=Strict, Secure over https). A wrong
/// token is `401 unauthorized`; after five wrong ones in a minute the client waits (`429 too_many_attempts`).
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = SignInRequest,
    responses((status = 200, body = SessionView, description = "Signed in; the answer sets the cookie"),
        (status = 401, body = ErrorEnvelope, description = "Not the access token (unauthorized, field token)"),
        (status = 429, body = ErrorEnvelope, description = "Too many wrong tokens from this client (too_many_attempts; Retry-After)")))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SignInRequest>,
) -> ApiResult<Response> {
    if request.token.is_empty() || request.token.chars().count() > MAX_TOKEN_LEN {
        let message = format!("token must be 1 to {MAX_TOKEN_LEN} characters");
        return Err(HttpError(ApiError::invalid(message).with_field("token")));
    }
    let sign_in = &state.sign_in;
    let Some(expected) = &sign_in.token else {
        return Ok(Json(sign_in.view(&headers)).into_response());
    };
    let client = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let now = Instant::now();
    if let Err(wait) = sign_in.attempts.check(client, now) {
        let message = format!("too many wrong access tokens from this address; try again in {} s", wait.as_secs() + 1);
        return Err(HttpError(ApiError::new(ErrorCode::TooManyAttempts, message).with_retry_after(wait)));
    }
    if !bool::from(request.token.as_bytes().ct_eq(expected.expose().as_bytes())) {
        sign_in.attempts.failed(client, now);
        let error = ApiError::new(ErrorCode::Unauthorized, "that is not the access token").with_field("token");
        return Err(HttpError(error));
    }
    sign_in.attempts.succeeded(client);
    let value = utf8_percent_encode(expected.expose(), NON_ALPHANUMERIC).to_string();
    let cookie = cookie(&headers, &value, COOKIE_MAX_AGE_SECS);
    let view = SessionView { auth: AuthKind::Token, signed_in: true };
    Ok(([(header::SET_COOKIE, cookie)], Json(view)).into_response())
}

/// Clears the sign-in cookie. The token itself stays valid: scripts and other browsers are not signed out.
#[utoipa::path(delete, path = "/api/session", tag = "session",
    responses((status = 200, body = SessionView, description = "Signed out; the answer clears the cookie")))]
pub(crate) async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let view = match state.sign_in.token {
        Some(_) => SessionView { auth: AuthKind::Token, signed_in: false },
        None => state.sign_in.view(&headers),
    };
    ([(header::SET_COOKIE, cookie(&headers, "", 0))], Json(view)).into_response()
}

/// The `Set-Cookie` value for `value`, kept `max_age` seconds; `Secure` when the page was served over https
/// (its `Origin` says so, as it does behind a TLS-terminating proxy).
fn cookie(headers: &HeaderMap, value: &str, max_age: u32) -> HeaderValue {
    let https = headers
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .is_some_and(|origin| origin.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://")));
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!("{TOKEN_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::try_from(cookie).expect("a percent-encoded value is a valid header value")
}
