//! Source kinds as the unit of extension: one closed enum of what configures each kind of source, with what
//! checks it, what builds it and what its answers must never show.
//!
//! The backend iterates this enum everywhere it handles configured runtimes — loading and validating the
//! file, reconciling the registry, listing connections, testing one — and names no kind itself. A new kind is
//! a module of its own (its source and its `spec`), a variant and a table here, and a `SourceKind` in
//! `runtime-api`.

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;

use runtime_api::{RuntimeId, RuntimeSource, SourceDescriptor, SourceKind};
use secrets::SecretRef;
use serde::Deserialize;

pub use crate::local_compat::spec::{LocalCompatSpec, RawLocalCompat};
use crate::remote_http::RemoteTimeouts;
pub use crate::remote_http::spec::{RawRemote, RemoteSpec};

/// One configured runtime, of one kind. Equality says whether an entry changed, which decides whether
/// reconciling must register it again.
#[derive(Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `[[runtimes.remote]]`: a `worker-runtime` process over HTTP.
    RemoteHttp(RemoteSpec),
    /// `[[runtimes.local_compat]]`: a read-only view of a runtime's data directory.
    LocalCompat(LocalCompatSpec),
}

/// What building a source may need.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    /// Time limits of a remote's calls, inside the caller's deadlines.
    pub remote: RemoteTimeouts,
}

/// Something a source's answers must never show; the variant names the placeholder that replaces it.
#[derive(Clone)]
pub enum Confidential {
    /// A remote's address (its URL, `host:port` and host are all hidden).
    Endpoint(url::Url),
    /// A credential.
    Token(String),
    /// Where a credential is read from (`env:NAME`, a variable name, a file path).
    TokenRef(String),
    /// A file or directory on this machine.
    Path(String),
}

/// Why a source could not be set up; the backend still lists it, inactive, with this reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

impl SourceSpec {
    /// The id it is registered under.
    pub fn id(&self) -> &RuntimeId {
        match self {
            SourceSpec::RemoteHttp(spec) => &spec.id,
            SourceSpec::LocalCompat(spec) => &spec.id,
        }
    }

    /// Its display name.
    pub fn display_name(&self) -> &str {
        match self {
            SourceSpec::RemoteHttp(spec) => &spec.display_name,
            SourceSpec::LocalCompat(spec) => &spec.display_name,
        }
    }

    /// Which kind of source it configures.
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceSpec::RemoteHttp(_) => SourceKind::RemoteHttp,
            SourceSpec::LocalCompat(_) => SourceKind::LocalCompat,
        }
    }

    /// The `[[runtimes.<table>]]` it is written in.
    pub fn table(&self) -> &'static str {
        match self {
            SourceSpec::RemoteHttp(_) => RemoteSpec::TABLE,
            SourceSpec::LocalCompat(_) => LocalCompatSpec::TABLE,
        }
    }

    /// Id, display name and kind, as the source will describe itself.
    pub fn descriptor(&self) -> SourceDescriptor {
        SourceDescriptor {
            runtime_id: self.id().clone(),
            display_name: self.display_name().to_owned(),
            kind: self.kind(),
        }
    }

    /// The source. Nothing is contacted: a source that is down now is built and simply unavailable.
    pub fn build(&self, options: &BuildOptions) -> Result<Arc<dyn RuntimeSource>, SetupError> {
        match self {
            SourceSpec::RemoteHttp(spec) => spec.build(options),
            SourceSpec::LocalCompat(spec) => Ok(spec.build()),
        }
    }

    /// Everything the source's answers must never show.
    pub fn confidential(&self) -> Vec<Confidential> {
        match self {
            SourceSpec::RemoteHttp(spec) => spec.confidential(),
            SourceSpec::LocalCompat(spec) => spec.confidential(),
        }
    }

    /// The remote connection this is, for the kinds the settings API manages (SPEC §8).
    pub fn as_connection(&self) -> Option<&RemoteSpec> {
        match self {
            SourceSpec::RemoteHttp(spec) => Some(spec),
            SourceSpec::LocalCompat(_) => None,
        }
    }
}

/// Where a kind's validation reports problems and resolves what every kind shares. The backend's loader
/// implements it, so each problem names the file, line and field it came from.
pub trait Check {
    /// The entry checked from now on: number `index` (from 0) of `[[runtimes.<table>]]`.
    fn enter(&mut self, table: &'static str, index: usize);
    /// `field` of the entry is wrong.
    fn invalid(&mut self, field: &str, problem: &dyn Display);
    /// The entry lacks the required `field`.
    fn missing(&mut self, field: &str);
    /// The entry's `id`: present, well formed, not reserved.
    fn id(&mut self, raw: Option<String>) -> Option<RuntimeId>;
    /// The entry's `display_name`, its id when not set.
    fn display_name(&mut self, raw: Option<String>, id: Option<&RuntimeId>) -> Option<String>;
    /// An optional secret reference: `Some(None)` when not set, `None` when invalid.
    fn secret_ref(&mut self, field: &str, raw: Option<String>) -> Option<Option<SecretRef>>;
    /// A path, made absolute.
    fn path(&mut self, field: &str, raw: PathBuf) -> Option<PathBuf>;
}

/// The tables under `[runtimes]`, one per kind.
pub const TABLES: &[&str] = &[RemoteSpec::TABLE, LocalCompatSpec::TABLE];

/// The keys an entry of `table` takes, for telling an operator which key a typo meant.
pub fn fields(table: &str) -> Option<&'static [&'static str]> {
    match table {
        RemoteSpec::TABLE => Some(RawRemote::FIELDS),
        LocalCompatSpec::TABLE => Some(RawLocalCompat::FIELDS),
        _ => None,
    }
}

/// `[runtimes]` as written: one list per kind, each entry checked by its kind. Unknown keys are left to the
/// loader, which warns about them.
#[derive(Default, Deserialize)]
#[serde(expecting = "a [runtimes] table")]
pub struct RawRuntimes {
    /// `[[runtimes.remote]]` entries.
    #[serde(default)]
    pub remote: Vec<RawRemote>,
    /// `[[runtimes.local_compat]]` entries.
    #[serde(default)]
    pub local_compat: Vec<RawLocalCompat>,
}

/// One entry after checking.
pub struct Checked {
    /// Its table.
    pub table: &'static str,
    /// Its place in the table, from 0.
    pub index: usize,
    /// Its id, when valid, even if the rest is not: a duplicate is still found.
    pub id: Option<RuntimeId>,
    /// The spec, when all of the entry is valid.
    pub spec: Option<SourceSpec>,
}

impl RawRuntimes {
    /// Checks every entry, table by table and in file order within each.
    pub fn check(self, check: &mut dyn Check) -> Vec<Checked> {
        let mut checked = Vec::new();
        for (index, raw) in self.remote.into_iter().enumerate() {
            check.enter(RemoteSpec::TABLE, index);
            let (id, spec) = raw.check(check);
            checked.push(Checked { table: RemoteSpec::TABLE, index, id, spec: spec.map(SourceSpec::RemoteHttp) });
        }
        for (index, raw) in self.local_compat.into_iter().enumerate() {
            check.enter(LocalCompatSpec::TABLE, index);
            let (id, spec) = raw.check(check);
            let spec = spec.map(SourceSpec::LocalCompat);
            checked.push(Checked { table: LocalCompatSpec::TABLE, index, id, spec });
        }
        checked
    }
}

impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only what a log may show: the kind and the id, never an endpoint, a reference or a path.
        write!(f, "{:?}({})", self.kind(), self.id())
    }
}
