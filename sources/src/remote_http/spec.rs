//! `[[runtimes.remote]]`: what configures a remote-http source, how it is checked and built, and what its
//! answers must never show.

use std::path::PathBuf;
use std::sync::Arc;

use runtime_api::{RuntimeId, RuntimeSource};
use secrets::SecretRef;
use serde::Deserialize;
use url::Url;

use super::endpoint::parse_endpoint;
use super::{RemoteHttpSource, RemoteOptions};
use crate::spec::{BuildOptions, Check, Confidential, SetupError};

/// One `[[runtimes.remote]]` entry as written; required keys are optional here so a missing one is reported
/// with the others. No `Debug`: it holds the endpoint and the token reference in the clear.
#[derive(Deserialize)]
#[serde(expecting = "a [[runtimes.remote]] table")]
pub struct RawRemote {
    /// Runtime id.
    pub id: Option<String>,
    /// Base URL of the runtime.
    pub endpoint: Option<String>,
    /// Name shown in the UI.
    pub display_name: Option<String>,
    /// `env:NAME` or `file:PATH` of the token sent to the runtime.
    pub token_ref: Option<String>,
    /// Extra CA certificate (PEM) to trust for `https`, relative to the workspace directory or absolute.
    pub ca_file: Option<PathBuf>,
}

/// A remote `worker-runtime` process the backend connects to; its `Debug` shows only the id.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// Registry id.
    pub id: RuntimeId,
    /// Base URL; the runtime API lives at `/v1` below it.
    pub endpoint: Url,
    /// Name shown in the UI; the id when not configured.
    pub display_name: String,
    /// Where the token sent to the runtime is read from.
    pub token_ref: Option<SecretRef>,
    /// Extra CA certificate (PEM, absolute path) trusted for `https` and `wss`.
    pub ca_file: Option<PathBuf>,
}

impl RawRemote {
    /// Every key an entry takes.
    pub const FIELDS: &'static [&'static str] = &["id", "endpoint", "display_name", "token_ref", "ca_file"];

    /// The entry's id (when valid) and the spec (when all of it is).
    pub(crate) fn check(self, check: &mut dyn Check) -> (Option<RuntimeId>, Option<RemoteSpec>) {
        let id = check.id(self.id);
        let endpoint = match self.endpoint {
            Some(text) => parse_endpoint(&text).map_err(|error| check.invalid("endpoint", &error)).ok(),
            None => {
                check.missing("endpoint");
                None
            }
        };
        let display_name = check.display_name(self.display_name, id.as_ref());
        let token_ref = check.secret_ref("token_ref", self.token_ref);
        let ca_file = match self.ca_file {
            Some(path) => check.path("ca_file", path).map(Some),
            None => Some(None),
        };
        let spec = match (id.clone(), endpoint, display_name, token_ref, ca_file) {
            (Some(id), Some(endpoint), Some(display_name), Some(token_ref), Some(ca_file)) => {
                Some(RemoteSpec { id, endpoint, display_name, token_ref, ca_file })
            }
            _ => None,
        };
        (id, spec)
    }
}

impl RemoteSpec {
    /// Its table under `[runtimes]`.
    pub const TABLE: &'static str = "remote";

    /// The source; one whose TLS set-up fails (an unusable CA file) cannot be built.
    pub(crate) fn build(&self, options: &BuildOptions) -> Result<Arc<dyn RuntimeSource>, SetupError> {
        let options = RemoteOptions {
            runtime_id: self.id.clone(),
            display_name: self.display_name.clone(),
            endpoint: self.endpoint.clone(),
            token_ref: self.token_ref.clone(),
            ca_file: self.ca_file.clone(),
            timeouts: options.remote,
        };
        match RemoteHttpSource::new(options) {
            Ok(source) => Ok(Arc::new(source)),
            Err(error) => {
                tracing::warn!(runtime_id = %self.id, %error, "remote runtime cannot be set up");
                Err(SetupError(error.to_string()))
            }
        }
    }

    /// Its endpoint, its token and where the token comes from, and its CA file.
    pub(crate) fn confidential(&self) -> Vec<Confidential> {
        let mut hidden = vec![Confidential::Endpoint(self.endpoint.clone())];
        if let Some(token_ref) = &self.token_ref {
            hidden.extend(token_ref.revealing_forms().into_iter().map(Confidential::TokenRef));
            // Best effort: a token that cannot be read now is never sent either.
            if let Ok(token) = token_ref.resolve() {
                hidden.push(Confidential::Token(token.expose().to_owned()));
            }
        }
        if let Some(ca_file) = &self.ca_file {
            hidden.push(Confidential::Path(ca_file.display().to_string()));
        }
        hidden
    }
}

impl std::fmt::Debug for RemoteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSpec")
            .field("id", &self.id)
            .field("endpoint", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("token_ref", &self.token_ref.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}
