//! Bearer-token authentication as a tower layer, with a constant-time comparison.

use std::sync::Arc;
use std::task::{Context, Poll};

use api_http::HttpError;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, FutureExt};
use runtime_api::{ApiError, ErrorCode};
use subtle::ConstantTimeEq;

/// The token clients must present; its `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken(Arc<str>);

impl BearerToken {
    /// A token; refused when empty, since an empty token would admit an empty header.
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        let token = token.trim_end_matches(['\n', '\r']);
        (!token.is_empty()).then(|| BearerToken(token.into()))
    }

    fn matches(&self, given: &[u8]) -> bool {
        bool::from(given.ct_eq(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// Requires `Authorization: Bearer <token>` on every request when a token is set (the scheme in any case);
/// lets everything through when none is.
#[derive(Clone, Debug)]
pub struct BearerAuthLayer {
    token: Option<BearerToken>,
}

impl BearerAuthLayer {
    /// A layer checking `token`, or none.
    pub fn new(token: Option<BearerToken>) -> Self {
        BearerAuthLayer { token }
    }
}

impl<S> tower::Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> BearerAuth<S> {
        BearerAuth { inner, token: self.token.clone() }
    }
}

/// The credentials of `Bearer <token>`, or nothing; the scheme's name is case-insensitive (RFC 9110 §11.1)
/// and may be followed by more than one space.
fn bearer(value: &[u8]) -> &[u8] {
    match value.split_at_checked(7) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest.trim_ascii(),
        _ => &[],
    }
}

/// The service of [`BearerAuthLayer`].
#[derive(Clone, Debug)]
pub struct BearerAuth<S> {
    inner: S,
    token: Option<BearerToken>,
}

impl<S> tower::Service<Request> for BearerAuth<S>
where
    S: tower::Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(token) = &self.token {
            let given = request.headers().get(header::AUTHORIZATION).map_or(&[][..], |v| bearer(v.as_bytes()));
            if !token.matches(given) {
                let mut response =
                    HttpError(ApiError::new(ErrorCode::Unauthorized, "a valid bearer token is required"))
                        .into_response();
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return async move { Ok(response) }.boxed();
            }
        }
        self.inner.call(request).boxed()
    }
}
