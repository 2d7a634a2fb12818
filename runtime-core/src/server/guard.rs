//! The runtime's request guard (SPEC §4): `Host` must be one of this runtime's names, and nothing may come
//! from a browser.
//!
//! The runtime serves one backend and never a page. A page elsewhere that points its own name at this
//! address (DNS rebinding) fails the `Host` check; a page that posts or opens a WebSocket here sends an
//! `Origin`, which no backend does, and is refused whatever the origin. Both hold with or without a token,
//! and sit before the token check. (The backend's guard in `backend/src/api/guard.rs` judges origins
//! instead of refusing them all, since the Browser is its client.)

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use api_http::HttpError;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::future::Either;
use runtime_api::{ApiError, ErrorCode};

/// Names accepted in `Host`, with any port: loopback's, always.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The host names a runtime answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    /// Host names (lowercase, IPv6 in brackets) accepted with any port or none.
    names: Vec<String>,
    /// `host:port` pairs accepted exactly.
    authorities: Vec<String>,
    /// Bound to every address: any IP literal with this port names this host.
    any_ip_port: Option<u16>,
}

impl AllowedHosts {
    /// Loopback names with any port, and nothing else: enough for a runtime on loopback, whatever its port
    /// (or a proxy's in front of it).
    pub fn loopback() -> Self {
        AllowedHosts { names: LOOPBACK_NAMES.map(str::to_owned).to_vec(), authorities: Vec::new(), any_ip_port: None }
    }

    /// The names of a runtime bound at `bound`: loopback's, the bound address, and `extra` (`name` for any
    /// port, `name:port` for that one). Bound to every address, any IP literal with the bound port.
    pub fn new(bound: SocketAddr, extra: &[String]) -> Self {
        let mut hosts = Self::loopback();
        let ip = bound.ip();
        if ip.is_unspecified() {
            hosts.any_ip_port = Some(bound.port());
        } else {
            hosts.authorities.push(match ip {
                IpAddr::V4(v4) => format!("{v4}:{}", bound.port()),
                IpAddr::V6(v6) => format!("[{v6}]:{}", bound.port()),
            });
        }
        for name in extra {
            let name = name.trim().to_ascii_lowercase();
            match split_port(&name) {
                (_, Some(_)) => hosts.authorities.push(name),
                (_, None) => hosts.names.push(name),
            }
        }
        hosts
    }

    /// Whether `host` (a `Host` header's value) names this runtime.
    pub fn allows(&self, host: &str) -> bool {
        let (name, port) = split_port(host);
        if name.is_empty() {
            return false;
        }
        self.names.iter().any(|allowed| allowed.eq_ignore_ascii_case(name))
            || self.authorities.iter().any(|allowed| allowed.eq_ignore_ascii_case(host))
            || self.any_ip_port.is_some_and(|ours| {
                port == Some(ours) && name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok()
            })
    }
}

/// `host` split into its name and port; an IPv6 literal only has a port after its closing bracket.
fn split_port(host: &str) -> (&str, Option<u16>) {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') || (name.starts_with('[') && name.ends_with(']')) => {
            match port.parse::<u16>() {
                Ok(port) => (name, Some(port)),
                Err(_) => (host, None),
            }
        }
        _ => (host, None),
    }
}

/// Refuses, with `403 forbidden`, a request whose `Host` is not allowed or that carries an `Origin`.
#[derive(Debug, Clone)]
pub struct RequestGuardLayer {
    hosts: Arc<AllowedHosts>,
}

impl RequestGuardLayer {
    /// A guard accepting `hosts`.
    pub fn new(hosts: AllowedHosts) -> Self {
        RequestGuardLayer { hosts: Arc::new(hosts) }
    }
}

impl<S> tower::Layer<S> for RequestGuardLayer {
    type Service = RequestGuard<S>;

    fn layer(&self, inner: S) -> RequestGuard<S> {
        RequestGuard { inner, hosts: self.hosts.clone() }
    }
}

/// The service of [`RequestGuardLayer`].
#[derive(Debug, Clone)]
pub struct RequestGuard<S> {
    inner: S,
    hosts: Arc<AllowedHosts>,
}

impl<S> tower::Service<Request> for RequestGuard<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let headers = request.headers();
        // A request without `Host` (HTTP/1.0) names its host in the target, or nowhere.
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()))
            .unwrap_or_default();
        let refusal = if !self.hosts.allows(host) {
            Some("this host name is not allowed")
        } else if headers.contains_key(header::ORIGIN) {
            Some("requests from a browser (with an Origin header) are not allowed: this runtime serves a backend")
        } else {
            None
        };
        match refusal {
            Some(message) => {
                Either::Left(ready(Ok(HttpError(ApiError::new(ErrorCode::Forbidden, message)).into_response())))
            }
            None => Either::Right(self.inner.call(request)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_with_any_port_and_the_bound_address_are_allowed() {
        let hosts = AllowedHosts::new("127.0.0.1:8790".parse().unwrap(), &[]);
        for host in ["localhost", "localhost:1", "LOCALHOST:8790", "127.0.0.1:8790", "127.0.0.1", "[::1]:9", "[::1]"] {
            assert!(hosts.allows(host), "{host}");
        }
        for host in
            ["", ":8790", "rebound.example", "rebound.example:8790", "127.0.0.2:8790", "localhost.evil:1", "::1"]
        {
            assert!(!hosts.allows(host), "{host}");
        }
    }

    #[test]
    fn extra_names_and_addresses_are_allowed_as_configured() {
        let extra = ["Runtime.Example".to_owned(), "proxy.example:443".to_owned()];
        let hosts = AllowedHosts::new("10.0.0.5:8790".parse().unwrap(), &extra);
        for host in
            ["runtime.example", "runtime.example:8790", "runtime.example:1", "proxy.example:443", "10.0.0.5:8790"]
        {
            assert!(hosts.allows(host), "{host}");
        }
        for host in ["proxy.example", "proxy.example:444", "10.0.0.5:8791", "10.0.0.6:8790"] {
            assert!(!hosts.allows(host), "{host}");
        }
    }

    #[test]
    fn bound_to_every_address_any_ip_with_our_port_is_allowed() {
        let hosts = AllowedHosts::new("0.0.0.0:8790".parse().unwrap(), &[]);
        for host in ["10.0.0.5:8790", "[fe80::1]:8790", "localhost:1"] {
            assert!(hosts.allows(host), "{host}");
        }
        for host in ["10.0.0.5:8791", "10.0.0.5", "runtime.example:8790"] {
            assert!(!hosts.allows(host), "{host}");
        }
    }
}
