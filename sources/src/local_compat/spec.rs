//! `[[runtimes.local_compat]]`: what configures a read-only view, how it is checked and built, and what its
//! answers must never show.

use std::path::PathBuf;
use std::sync::Arc;

use runtime_api::{RuntimeId, RuntimeSource};
use serde::Deserialize;

use super::LocalCompatSource;
use crate::spec::{Check, Confidential};

/// One `[[runtimes.local_compat]]` entry as written.
#[derive(Deserialize)]
#[serde(expecting = "a [[runtimes.local_compat]] table")]
pub struct RawLocalCompat {
    /// Runtime id.
    pub id: Option<String>,
    /// Name shown in the UI.
    pub display_name: Option<String>,
    /// Directory of worker records, relative to the workspace directory or absolute.
    pub path: Option<PathBuf>,
}

/// A read-only view over a directory of worker records; its `Debug` shows no path.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalCompatSpec {
    /// Registry id.
    pub id: RuntimeId,
    /// Name shown in the UI; the id when not configured.
    pub display_name: String,
    /// The directory (absolute).
    pub path: PathBuf,
}

impl RawLocalCompat {
    /// Every key an entry takes.
    pub const FIELDS: &'static [&'static str] = &["id", "display_name", "path"];

    /// The entry's id (when valid) and the spec (when all of it is).
    pub(crate) fn check(self, check: &mut dyn Check) -> (Option<RuntimeId>, Option<LocalCompatSpec>) {
        let id = check.id(self.id);
        let display_name = check.display_name(self.display_name, id.as_ref());
        let path = match self.path {
            Some(path) => check.path("path", path),
            None => {
                check.missing("path");
                None
            }
        };
        let spec = match (id.clone(), display_name, path) {
            (Some(id), Some(display_name), Some(path)) => Some(LocalCompatSpec { id, display_name, path }),
            _ => None,
        };
        (id, spec)
    }
}

impl LocalCompatSpec {
    /// Its table under `[runtimes]`.
    pub const TABLE: &'static str = "local_compat";

    pub(crate) fn build(&self) -> Arc<dyn RuntimeSource> {
        Arc::new(LocalCompatSource::new(self.id.clone(), self.display_name.clone(), self.path.clone()))
    }

    /// The directory it reads.
    pub(crate) fn confidential(&self) -> Vec<Confidential> {
        vec![Confidential::Path(self.path.display().to_string())]
    }
}

impl std::fmt::Debug for LocalCompatSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCompatSpec")
            .field("id", &self.id)
            .field("display_name", &self.display_name)
            .field("path", &"<redacted>")
            .finish()
    }
}
