//! Keeping the live registry in step with the configuration: registering configured runtimes at start, and
//! reconciling after an edit or a reload.

use std::sync::Arc;

use runtime_api::{RuntimeId, SourceDescriptor, SourceKind};
use sources::LocalCompatSource;
use sources::remote_http::{RemoteHttpSource, RemoteOptions, RemoteTimeouts};

use crate::config::{BackendConfig, LocalCompatConfig, RemoteRuntimeConfig};
use crate::registry::RuntimeRegistry;
use crate::stack::Sanitizer;
use crate::stack::sanitize::SecretKind;

/// The configured runtimes the registry holds now, as they were configured when registered.
#[derive(Default, Clone)]
pub struct Applied {
    /// Remote runtimes.
    pub remotes: Vec<RemoteRuntimeConfig>,
    /// Local-compat views.
    pub local_compat: Vec<LocalCompatConfig>,
}

/// What reconciling changed.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Runtimes registered (new or replaced).
    pub added: Vec<RuntimeId>,
    /// Runtimes unregistered (gone or replaced).
    pub removed: Vec<RuntimeId>,
    /// Runtimes that could not be registered, and why.
    pub failed: Vec<(RuntimeId, String)>,
}

/// Makes the registry hold exactly the configured runtimes of `config`, touching only those `applied` says
/// came from configuration, and returns what it did; `applied` is updated to match.
pub fn reconcile(
    registry: &RuntimeRegistry,
    applied: &mut Applied,
    config: &BackendConfig,
    timeouts: &RemoteTimeouts,
) -> Reconciled {
    let mut outcome = Reconciled::default();
    // Removals first, so an id that moved from one kind to the other, or changed, is free to register again.
    let stale_remotes = stale(&applied.remotes, &config.remotes, |r| &r.id);
    let stale_views = stale(&applied.local_compat, &config.local_compat, |v| &v.id);
    for id in stale_remotes.into_iter().chain(stale_views) {
        if registry.remove(&id).is_some() {
            outcome.removed.push(id);
        }
    }
    applied.remotes.retain(|r| config.remotes.contains(r));
    applied.local_compat.retain(|v| config.local_compat.contains(v));

    for remote in &config.remotes {
        if applied.remotes.contains(remote) {
            continue;
        }
        match register_remote(registry, remote, timeouts) {
            Ok(()) => {
                outcome.added.push(remote.id.clone());
                applied.remotes.push(remote.clone());
            }
            Err(reason) => outcome.failed.push((remote.id.clone(), reason)),
        }
    }
    for view in &config.local_compat {
        if applied.local_compat.contains(view) {
            continue;
        }
        match register_local_compat(registry, view) {
            Ok(()) => {
                outcome.added.push(view.id.clone());
                applied.local_compat.push(view.clone());
            }
            Err(reason) => outcome.failed.push((view.id.clone(), reason)),
        }
    }
    outcome
}

/// Ids registered under `before` whose configuration is gone from `after` or differs there.
fn stale<T: PartialEq>(before: &[T], after: &[T], id: impl Fn(&T) -> &RuntimeId) -> Vec<RuntimeId> {
    before.iter().filter(|old| !after.contains(old)).map(|old| id(old).clone()).collect()
}

/// Registers a remote runtime. One that cannot even be set up (an unusable CA file, say) is still listed, as
/// inactive with the reason; one that is down is listed and starts working when it comes up.
pub fn register_remote(
    registry: &RuntimeRegistry,
    remote: &RemoteRuntimeConfig,
    timeouts: &RemoteTimeouts,
) -> Result<(), String> {
    let options = RemoteOptions {
        runtime_id: remote.id.clone(),
        display_name: remote.display_name.clone(),
        endpoint: remote.endpoint.clone(),
        token_ref: remote.token_ref.clone(),
        ca_file: remote.ca_file.clone(),
        timeouts: *timeouts,
    };
    let registered = match RemoteHttpSource::new(options) {
        Ok(source) => registry.register(Arc::new(source), remote_secrets(remote)),
        Err(error) => {
            tracing::warn!(runtime_id = %remote.id, %error, "remote runtime cannot be set up");
            let descriptor = SourceDescriptor {
                runtime_id: remote.id.clone(),
                display_name: remote.display_name.clone(),
                kind: SourceKind::RemoteHttp,
            };
            registry.register_inactive(descriptor, error.to_string())
        }
    };
    registered.map(drop).map_err(|error| error.to_string())
}

/// Registers a read-only view over a directory of worker records.
pub fn register_local_compat(registry: &RuntimeRegistry, view: &LocalCompatConfig) -> Result<(), String> {
    let source = LocalCompatSource::new(view.id.clone(), view.display_name.clone(), view.path.clone());
    let secrets = Sanitizer::new().secret(SecretKind::Path, &view.id, &view.path.display().to_string());
    registry.register(Arc::new(source), secrets).map(drop).map_err(|error| error.to_string())
}

/// What a remote's answers must never show: its endpoint, its token and where the token comes from.
fn remote_secrets(remote: &RemoteRuntimeConfig) -> Sanitizer {
    let owner = &remote.id;
    let mut sanitizer = Sanitizer::new().endpoint(owner, &remote.endpoint);
    if let Some(token_ref) = &remote.token_ref {
        for form in token_ref.revealing_forms() {
            sanitizer = sanitizer.secret(SecretKind::TokenRef, owner, &form);
        }
        // Best effort: a token that cannot be read now is never sent either.
        if let Ok(token) = token_ref.resolve() {
            sanitizer = sanitizer.secret(SecretKind::Token, owner, token.expose());
        }
    }
    if let Some(ca_file) = &remote.ca_file {
        sanitizer = sanitizer.secret(SecretKind::Path, owner, &ca_file.display().to_string());
    }
    sanitizer
}
