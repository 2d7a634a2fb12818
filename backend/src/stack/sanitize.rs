//! Sanitization: registered secrets and internal locations never leave the stack.
//!
//! Sits above `MapErrorLayer`, so typed error messages are scrubbed, and below `DiagnosticsLayer`, so what
//! diagnostics keep and show is already clean. Two strengths apply:
//! - everywhere, every registered secret (a remote's endpoint, token, token reference, a data directory) is
//!   replaced by a named placeholder such as `<endpoint of remote-dev>`, so messages stay useful;
//! - in text a runtime wrote about itself (error messages, failure notices, close reasons) URLs and path-like
//!   words are also replaced (`<url>`, `<path>`), since a source may not know what it leaks.
//!
//! User content (inputs, replies, titles) gets only the first: a user may well talk about `/etc/hosts`.

mod engine;
mod wire;

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use runtime_api::ApiError;

pub use engine::{Sanitizer, SecretKind};
pub use wire::Sanitize;

use super::{SourceRequest, SourceResponse};

/// Scrubs every response and error of the wrapped service.
#[derive(Debug, Clone)]
pub struct SanitizeLayer {
    sanitizer: Arc<Sanitizer>,
}

impl SanitizeLayer {
    /// A layer with these rules.
    pub fn new(sanitizer: Arc<Sanitizer>) -> Self {
        SanitizeLayer { sanitizer }
    }
}

impl<S> tower::Layer<S> for SanitizeLayer {
    type Service = SanitizeService<S>;

    fn layer(&self, inner: S) -> SanitizeService<S> {
        SanitizeService { inner, sanitizer: self.sanitizer.clone() }
    }
}

/// The service of [`SanitizeLayer`].
#[derive(Debug, Clone)]
pub struct SanitizeService<S> {
    inner: S,
    sanitizer: Arc<Sanitizer>,
}

impl<S> tower::Service<SourceRequest> for SanitizeService<S>
where
    S: tower::Service<SourceRequest, Response = SourceResponse, Error = ApiError>,
    S::Future: Send + 'static,
{
    type Response = SourceResponse;
    type Error = ApiError;
    type Future = BoxFuture<'static, Result<SourceResponse, ApiError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ApiError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SourceRequest) -> Self::Future {
        let sanitizer = self.sanitizer.clone();
        let call = self.inner.call(request);
        async move {
            match call.await {
                Ok(mut response) => {
                    wire::settle(&mut response, &sanitizer)?;
                    response.sanitize(&sanitizer);
                    Ok(response)
                }
                Err(mut error) => {
                    error.sanitize(&sanitizer);
                    Err(error)
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests;
