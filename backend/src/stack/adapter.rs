//! The innermost step: turns a [`SourceRequest`] into a call on the source.

use runtime_api::{ApiError, RuntimeSource};

use super::{SourceRequest, SourceResponse};

/// Calls `source` for `request`. A source answers for the id it describes (the contract suite checks it),
/// which is the id it is registered under, so answers pass through unchanged.
pub(super) async fn call(source: &dyn RuntimeSource, request: SourceRequest) -> Result<SourceResponse, ApiError> {
    Ok(match request {
        SourceRequest::Summary => SourceResponse::Summary(source.summary().await?),
        SourceRequest::List(query) => SourceResponse::Workers(source.list(query).await?),
        SourceRequest::Get(id) => SourceResponse::Worker(source.get_verbatim(&id).await?),
        SourceRequest::Command(command, key) => SourceResponse::Command(source.command(command, key).await?),
        SourceRequest::Transcript(id, query) => SourceResponse::Transcript(source.transcript(&id, query).await?),
        SourceRequest::Subscribe(request) => SourceResponse::Stream(source.subscribe(request).await?),
        SourceRequest::Profiles => SourceResponse::Profiles(source.profiles().await?),
    })
}
