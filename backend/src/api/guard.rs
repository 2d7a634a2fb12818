//! The request guard of SPEC §10: Host (DNS rebinding), Origin (cross-site requests) and the access token.
//!
//! It runs before any handler. A page on another site that resolves its own name to the backend's address
//! fails the Host check; a page that posts or opens a WebSocket to the backend from another origin fails
//! the Origin check; and when the backend is reachable beyond loopback, nothing passes without the token.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::http::{HeaderMap, Method, Request, header};
use axum::response::{IntoResponse, Response};
use futures::future::Either;
use runtime_api::{ApiError, ErrorCode};
use rustc_hash::FxHashSet;
use subtle::ConstantTimeEq;

use crate::config::{Secret, ServerConfig};
use api_http::HttpError;

/// Name of the cookie a browser carries the access token in (a WebSocket cannot set headers); its value is the
/// token percent-encoded (a generated token is unchanged by that).
pub const TOKEN_COOKIE: &str = "yoi_access_token";

/// The one API path that answers without the token: signing in, signing out and asking whether one is signed in.
pub const SESSION_PATH: &str = "/api/session";

/// What the guard lets through.
#[derive(Clone)]
// Fixed sets that requests only look up in (a client cannot add to them), so an unkeyed fast hash is safe.
pub struct Guard {
    hosts: Arc<FxHashSet<String>>,
    origins: Arc<FxHashSet<String>>,
    /// Bound to every address: any IP literal with our port is a name of this host.
    any_ip_port: Option<u16>,
    token: Option<Arc<Secret>>,
    /// Paths served without the token: the page's static files (they hold no data, and the sign-in form
    /// is among them) and [`SESSION_PATH`].
    public: Arc<FxHashSet<&'static str>>,
}

impl Guard {
    /// The guard for a server bound at `bound`.
    pub fn new(bound: SocketAddr, server: &ServerConfig, token: Option<Secret>) -> Self {
        let port = bound.port();
        let mut hosts = FxHashSet::default();
        let ip = bound.ip();
        if ip.is_loopback() || ip.is_unspecified() {
            for name in ["localhost", "127.0.0.1", "[::1]"] {
                hosts.insert(format!("{name}:{port}"));
            }
        }
        if !ip.is_unspecified() {
            hosts.insert(host_port(ip, port));
        }
        for name in &server.allowed_hosts {
            let name = name.to_ascii_lowercase();
            if !has_port(&name) {
                // A bare name is accepted on our port, and without one (behind a proxy on 80 or 443).
                hosts.insert(format!("{name}:{port}"));
            }
            hosts.insert(name);
        }
        let mut origins: FxHashSet<String> =
            hosts.iter().flat_map(|h| [format!("http://{h}"), format!("https://{h}")]).collect();
        origins.extend(server.allowed_origins.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()));
        Guard {
            hosts: Arc::new(hosts),
            origins: Arc::new(origins),
            any_ip_port: ip.is_unspecified().then_some(port),
            token: token.map(Arc::new),
            public: Arc::new(settings_ui::ASSETS.iter().map(|asset| asset.path).chain([SESSION_PATH]).collect()),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        // Names are kept lowercase; most clients send them so, and then nothing is copied.
        let host = lowercase(host);
        self.hosts.contains(host.as_ref()) || self.any_ip_port.is_some_and(|port| is_ip_with_port(&host, port))
    }

    /// Whether a request to `host` may come from `origin`.
    fn origin_allowed(&self, origin: &str, host: &str) -> bool {
        let origin = lowercase(origin);
        if self.origins.contains(origin.as_ref()) {
            return true;
        }
        // Bound to every address, an IP origin is ours only if it is the very address the request reached:
        // any other machine serving on our port is another site.
        self.any_ip_port.is_some()
            && origin.split_once("://").is_some_and(|(scheme, authority)| {
                matches!(scheme, "http" | "https") && authority == host.to_ascii_lowercase()
            })
    }

    fn token_matches(&self, headers: &HeaderMap) -> bool {
        self.token.as_deref().is_none_or(|expected| presents(headers, expected))
    }
}

/// Whether `headers` carry `expected`, as `Authorization: Bearer` or in the [`TOKEN_COOKIE`]; compared in
/// constant time.
pub fn presents(headers: &HeaderMap, expected: &Secret) -> bool {
    let expected = expected.expose().as_bytes();
    // The scheme name is case-insensitive (RFC 7235).
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| Cow::Borrowed(token.trim().as_bytes()))
    });
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
        .map(|value| Cow::from(percent_encoding::percent_decode_str(value)));
    bearer.into_iter().chain(cookies).any(|given| bool::from(given.as_ref().ct_eq(expected)))
}

/// `text` in lowercase, copied only when it has capitals.
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// Whether `host` ends in `:port` (an IPv6 literal only counts when bracketed).
fn has_port(host: &str) -> bool {
    host.rsplit_once(':').is_some_and(|(name, port)| {
        port.parse::<u16>().is_ok() && (!name.contains(':') || (name.starts_with('[') && name.ends_with(']')))
    })
}

fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// Whether `host` is an IP literal (IPv6 bracketed) with `port`.
fn is_ip_with_port(host: &str, port: u16) -> bool {
    host.parse::<SocketAddr>().is_ok_and(|addr| addr.port() == port)
}

/// Whether the request changes state or opens a stream, and so must come from an allowed origin.
fn needs_origin_check<B>(request: &Request<B>) -> bool {
    let upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    upgrade || !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
}

impl Guard {
    /// The answer refusing `request`, or `None` when it may pass.
    pub fn refusal<B>(&self, request: &Request<B>) -> Option<Response> {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()))
            .unwrap_or_default();
        if !self.host_allowed(host) {
            return Some(refuse(ErrorCode::Forbidden, "this host name is not allowed"));
        }
        if needs_origin_check(request)
            && let Some(origin) = request.headers().get(header::ORIGIN)
            && !origin.to_str().is_ok_and(|o| self.origin_allowed(o, host))
        {
            return Some(refuse(ErrorCode::Forbidden, "requests from this origin are not allowed"));
        }
        if !self.token_matches(request.headers()) && !self.public.contains(request.uri().path()) {
            let mut response = refuse(ErrorCode::Unauthorized, "an access token is required");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return Some(response);
        }
        None
    }
}

impl<S> tower::Layer<S> for Guard {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded { inner, guard: self.clone() }
    }
}

/// A service behind the guard: refused requests are answered here and never reach it.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    guard: Guard,
}

impl<S, B> tower::Service<Request<B>> for Guarded<S>
where
    S: tower::Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.guard.refusal(&request) {
            Some(refused) => Either::Left(ready(Ok(refused))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}

fn refuse(code: ErrorCode, message: &str) -> Response {
    HttpError(ApiError::new(code, message)).into_response()
}

#[cfg(test)]
mod tests;
