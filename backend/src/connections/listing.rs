//! The connections as the Settings page shows them: what the files say, joined with what the registry serves.

use std::path::Path;

use futures::future::join_all;
use runtime_api::{ErrorCode, RuntimeId, RuntimeStatus, SourceKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::check_token_ref;
use crate::config::{BackendConfig, EMBEDDED_RUNTIME_ID, SecretRef, SourceSpec};
use crate::health::HealthView;
use crate::registry::RuntimeRegistry;
use crate::registry::view::{self, AGGREGATE_BUDGET, Freshness};

/// Answer of `GET /api/settings/runtime-connections`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionList {
    /// The embedded runtime first, then configured runtimes in file order, then any other served runtime.
    pub connections: Vec<ConnectionView>,
    /// What the config files hold that the backend does not know (unknown keys, ignored), each as
    /// `file:line: field: message` with the file relative to the workspace.
    pub warnings: Vec<String>,
}

/// Which config file defines a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DefinedIn {
    /// `.yoi/workspace-backend.local.toml`, the file the settings API edits.
    Local,
    /// `.yoi/workspace-backend.toml`, read-only here.
    Shared,
}

/// One connection; never a token value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionView {
    /// Runtime id.
    pub id: RuntimeId,
    /// Name shown.
    pub display_name: String,
    /// Which kind of source serves it.
    pub kind: SourceKind,
    /// The embedded runtime.
    pub builtin: bool,
    /// Whether the settings API can remove it.
    pub deletable: bool,
    /// Whether a config file defines it as it stands on disk now.
    pub persisted: bool,
    /// Which file, when persisted.
    pub defined_in: Option<DefinedIn>,
    /// Base URL of a remote runtime, shown to the operator who manages it.
    pub endpoint: Option<String>,
    /// The token reference, when it lies in the runtime-token namespace.
    pub token_ref: Option<String>,
    /// Whether a token is configured at all.
    pub has_token: bool,
    /// Whether the registry serves it now.
    pub active: bool,
    /// Its condition, from a summary call bounded like `/api/runtimes` (from the health monitor alone in the
    /// answer to an add, which never waits on the network).
    pub status: RuntimeStatus,
    /// What its health monitor found; `unknown` until the first probe, which starts at registration.
    pub health: Option<HealthView>,
    /// Whether its protocol is known to be compatible; `null` when it has not answered.
    pub compatible: Option<bool>,
    /// Sanitized notes: why it is inactive, its last failure.
    pub notes: Vec<String>,
}

/// Which file defines each runtime: `(table, id)` of the personal file's entries.
pub(super) type LocalEntries = [(String, String)];

/// Every connection.
pub(super) async fn list(
    workspace: &Path,
    config: &BackendConfig,
    local: &LocalEntries,
    registry: &RuntimeRegistry,
) -> ConnectionList {
    let mut rows = Vec::new();
    let embedded = runtime_id(EMBEDDED_RUNTIME_ID);
    if let Ok(entry) = registry.get(&embedded) {
        rows.push(Row { id: embedded, persisted: None, kind: entry.descriptor().kind });
    }
    rows.extend(config.runtimes.iter().map(|spec| Row {
        id: spec.id().clone(),
        persisted: Some((spec, defined_in(local, spec))),
        kind: spec.kind(),
    }));
    for entry in registry.list() {
        if !rows.iter().any(|row| &row.id == entry.runtime_id()) {
            rows.push(Row { id: entry.runtime_id().clone(), persisted: None, kind: entry.descriptor().kind });
        }
    }
    let views = rows.iter().map(|row| view(workspace, row, registry, Freshness::Live(Some(AGGREGATE_BUDGET))));
    let prefix = format!("{}/", workspace.display());
    let warnings = config.warnings.iter().map(|warning| warning.to_string().replace(&prefix, "")).collect();
    ConnectionList { connections: join_all(views).await, warnings }
}

/// The connection `id`, as [`list`] would show it but from what the health monitor remembers: answering a
/// change never waits on the network.
pub(super) async fn one(
    workspace: &Path,
    config: &BackendConfig,
    local: &LocalEntries,
    registry: &RuntimeRegistry,
    id: &RuntimeId,
) -> ConnectionView {
    let spec = config.runtime(id.as_str());
    let kind = spec.map_or(SourceKind::RemoteHttp, SourceSpec::kind);
    let row = Row { id: id.clone(), persisted: spec.map(|spec| (spec, defined_in(local, spec))), kind };
    view(workspace, &row, registry, Freshness::Remembered).await
}

/// A connection before the registry is asked about it.
struct Row<'a> {
    id: RuntimeId,
    /// What a config file says about it, and which file.
    persisted: Option<(&'a SourceSpec, DefinedIn)>,
    kind: SourceKind,
}

async fn view(workspace: &Path, row: &Row<'_>, registry: &RuntimeRegistry, freshness: Freshness) -> ConnectionView {
    let entry = registry.get(&row.id).ok();
    let live = match &entry {
        Some(entry) => Some(view::view(entry, freshness).await),
        None => None,
    };
    let builtin = row.id.as_str() == EMBEDDED_RUNTIME_ID;
    let connection = row.persisted.and_then(|(spec, _)| spec.as_connection());
    let display_name = match (&row.persisted, &entry) {
        (Some((spec, _)), _) => spec.display_name().to_owned(),
        (None, Some(entry)) => entry.descriptor().display_name.clone(),
        (None, None) => row.id.to_string(),
    };
    let mut notes = Vec::new();
    let compatible = live.as_ref().and_then(|live| {
        notes.extend(live.diagnostics.notes.iter().cloned());
        let probed = live.health.as_ref().and_then(|health| health.last_error.as_ref());
        let last_error = live.diagnostics.calls.last_error.as_ref().or(probed);
        let reason = live.health.as_ref().and_then(|health| health.reason.clone());
        if live.protocol.is_none()
            && let Some(reason) = reason.or_else(|| last_error.map(|error| error.message.clone()))
            && !notes.contains(&reason)
        {
            notes.push(reason);
        }
        match (&live.protocol, last_error) {
            (Some(protocol), _) => Some(protocol.is_compatible()),
            (None, Some(error)) if error.code == ErrorCode::RuntimeIncompatible => Some(false),
            _ => None,
        }
    });
    if entry.is_none() && row.persisted.is_some() {
        notes.push("not served yet: reload the backend (SIGHUP) or restart it".to_owned());
    }
    let defined_in = row.persisted.map(|(_, file)| file);
    ConnectionView {
        id: row.id.clone(),
        display_name,
        kind: row.kind,
        builtin,
        // The settings API edits connections, and only in the personal file.
        deletable: connection.is_some() && defined_in == Some(DefinedIn::Local),
        persisted: row.persisted.is_some(),
        defined_in,
        endpoint: connection.map(|c| c.endpoint.to_string()),
        token_ref: connection.and_then(|c| c.token_ref.as_ref()).and_then(|r| shown_token_ref(workspace, r)),
        has_token: connection.is_some_and(|c| c.token_ref.is_some()),
        active: live.as_ref().is_some_and(|l| l.active),
        status: live.as_ref().map_or(RuntimeStatus::Unavailable, |l| l.status),
        health: live.and_then(|l| l.health),
        compatible,
        notes,
    }
}

fn defined_in(local: &LocalEntries, spec: &SourceSpec) -> DefinedIn {
    let local = local.iter().any(|(table, id)| table == spec.table() && id == spec.id().as_str());
    if local { DefinedIn::Local } else { DefinedIn::Shared }
}

/// The reference as the operator would type it, when it lies in the runtime-token namespace.
fn shown_token_ref(workspace: &Path, token_ref: &SecretRef) -> Option<String> {
    let text = match token_ref {
        SecretRef::Env(name) => format!("env:{name}"),
        SecretRef::File(path) => format!("file:{}", path.strip_prefix(workspace).ok()?.display()),
    };
    check_token_ref(&text).is_ok().then_some(text)
}

fn runtime_id(id: &str) -> RuntimeId {
    RuntimeId::parse(id).expect("a valid id")
}
