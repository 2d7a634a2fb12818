//! The innermost service: turns a [`SourceRequest`] into a call on the source.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use runtime_api::{Relabel, RuntimeId, RuntimeSource};

use super::{BoxError, SourceRequest, SourceResponse};

/// A `tower::Service` over a boxed [`RuntimeSource`]. Whatever a source calls itself, its answers carry the
/// id it is registered under, since that is the only id a Browser can address it by.
#[derive(Clone)]
pub struct SourceService {
    source: Arc<dyn RuntimeSource>,
    runtime_id: RuntimeId,
}

impl SourceService {
    /// Adapts `source`, registered as `runtime_id`.
    pub fn new(source: Arc<dyn RuntimeSource>, runtime_id: RuntimeId) -> Self {
        SourceService { source, runtime_id }
    }
}

/// Puts the registry id into every place a response names its runtime.
fn claim(response: &mut SourceResponse, id: &RuntimeId) {
    match response {
        SourceResponse::Summary(summary) => summary.relabel(id),
        SourceResponse::Workers(page) => page.relabel(id),
        SourceResponse::Worker(detail) => detail.relabel(id),
        SourceResponse::Stream(stream) => {
            let id = id.clone();
            let frames = std::mem::replace(stream, Box::pin(futures::stream::empty()));
            *stream = Box::pin(frames.map(move |mut frame| {
                frame.relabel(&id);
                frame
            }));
        }
        SourceResponse::Input(_)
        | SourceResponse::Stop(_)
        | SourceResponse::Cancel(_)
        | SourceResponse::Transcript(_)
        | SourceResponse::Profiles(_) => {}
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
        let runtime_id = self.runtime_id.clone();
        async move {
            let response = match request {
                SourceRequest::Summary => SourceResponse::Summary(source.summary().await?),
                SourceRequest::List(query) => SourceResponse::Workers(source.list(query).await?),
                SourceRequest::Get(id) => SourceResponse::Worker(source.get(&id).await?),
                SourceRequest::Create(body) => SourceResponse::Worker(source.create(body).await?),
                SourceRequest::Input(id, body) => SourceResponse::Input(source.input(&id, body).await?),
                SourceRequest::Stop(id, body) => SourceResponse::Stop(source.stop(&id, body).await?),
                SourceRequest::Cancel(id, body) => SourceResponse::Cancel(source.cancel(&id, body).await?),
                SourceRequest::Transcript(id, query) => {
                    SourceResponse::Transcript(source.transcript(&id, query).await?)
                }
                SourceRequest::Subscribe(request) => SourceResponse::Stream(source.subscribe(request).await?),
                SourceRequest::Profiles => SourceResponse::Profiles(source.profiles().await?),
            };
            let mut response = response;
            claim(&mut response, &runtime_id);
            Ok(response)
        }
        .boxed()
    }
}
