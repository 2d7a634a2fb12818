//! The innermost service: turns a [`SourceRequest`] into a call on the source.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use runtime_api::RuntimeSource;

use super::{BoxError, SourceRequest, SourceResponse};

/// A `tower::Service` over a boxed [`RuntimeSource`]. A source answers for the id it describes (the contract
/// suite checks it), which is the id it is registered under, so answers pass through unchanged.
#[derive(Clone)]
pub struct SourceService {
    source: Arc<dyn RuntimeSource>,
}

impl SourceService {
    /// Adapts `source`.
    pub fn new(source: Arc<dyn RuntimeSource>) -> Self {
        SourceService { source }
    }
}

impl tower::Service<SourceRequest> for SourceService {
    type Response = SourceResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<SourceResponse, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: SourceRequest) -> Self::Future {
        let source = self.source.clone();
        async move {
            Ok(match request {
                SourceRequest::Summary => SourceResponse::Summary(source.summary().await?),
                SourceRequest::List(query) => SourceResponse::Workers(source.list(query).await?),
                SourceRequest::Get(id) => SourceResponse::Worker(source.get_verbatim(&id).await?),
                SourceRequest::Command(command, key) => SourceResponse::Command(source.command(command, key).await?),
                SourceRequest::Transcript(id, query) => {
                    SourceResponse::Transcript(source.transcript(&id, query).await?)
                }
                SourceRequest::Subscribe(request) => SourceResponse::Stream(source.subscribe(request).await?),
                SourceRequest::Profiles => SourceResponse::Profiles(source.profiles().await?),
            })
        }
        .boxed()
    }
}
