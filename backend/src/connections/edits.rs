//! The two edits of the personal config file — add a remote connection, remove one — shared by the settings
//! API and the `connections` command line. Each checks the result loads before anything is written.

use std::path::{Path, PathBuf};

use runtime_api::{ApiError, ErrorCode, RuntimeId};

use super::document::ConfigDocument;
use super::file::EditableFile;
use super::rules::{CheckedConnection, ConnectionDraft, check_binding};
use crate::config::{self, BackendConfig, CliOverrides, ConfigError, EMBEDDED_RUNTIME_ID, LOCAL_CONFIG_FILE};

/// The configuration of one workspace, as the edits see it.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace directory (absolute).
    pub dir: PathBuf,
    /// Command-line values, which the configuration is loaded with.
    pub cli: CliOverrides,
}

impl Workspace {
    /// The workspace at `dir` (absolute) loaded with `cli`.
    pub fn new(dir: PathBuf, cli: CliOverrides) -> Self {
        Workspace { dir, cli }
    }

    /// The file the edits change.
    pub fn local_file(&self) -> EditableFile {
        EditableFile::new(self.dir.join(LOCAL_CONFIG_FILE), LOCAL_CONFIG_FILE)
    }

    /// The configuration as it is on disk now.
    pub fn load(&self) -> Result<BackendConfig, ApiError> {
        config::load(&self.dir, &self.cli).map_err(|error| invalid(&self.dir, &error))
    }

    /// `(table, id)` of every runtime the personal file defines (the others come from the shared file).
    pub fn local_entries(&self) -> Result<Vec<(String, String)>, ApiError> {
        let text = self.local_file().read().map_err(ApiError::from)?;
        let document = ConfigDocument::parse(&text).map_err(|error| {
            ApiError::new(
                ErrorCode::ConfigInvalid,
                format!("the config file {LOCAL_CONFIG_FILE} cannot be read: {error}"),
            )
        })?;
        Ok(document.entries())
    }

    /// The configuration if `text` were the personal file.
    fn load_with(&self, text: &str) -> Result<BackendConfig, ApiError> {
        config::load_with_local_text(&self.dir, &self.cli, text).map_err(|error| invalid(&self.dir, &error))
    }

    /// Appends `draft` to the personal file; `taken` says whether an id is used by a runtime outside the
    /// configuration (a source added by code). Returns the configuration as now written.
    pub fn add(&self, draft: &ConnectionDraft, taken: impl Fn(&RuntimeId) -> bool) -> Result<BackendConfig, ApiError> {
        let connection = draft.check()?;
        self.local_file()
            .edit(|document| {
                let current = self.load_with(&document.render())?;
                if is_configured(&current, &connection.id) || taken(&connection.id) {
                    let message = format!("a runtime with id {} already exists", connection.id);
                    return Err(ApiError::new(ErrorCode::DuplicateConnection, message).with_field("id"));
                }
                check_binding(&connection.spec(&self.dir)?, &current, &self.dir)?;
                add_to(document, &connection)?;
                let text = document.render();
                let next = self.load_with(&text)?;
                Ok((text, next))
            })
            .map_err(ApiError::from)
    }

    /// Removes the remote connection `id` from the personal file. Returns the configuration as now written.
    pub fn remove(&self, id: &str) -> Result<BackendConfig, ApiError> {
        self.local_file()
            .edit(|document| {
                let current = self.load_with(&document.render())?;
                if id == EMBEDDED_RUNTIME_ID {
                    let message = format!("{EMBEDDED_RUNTIME_ID} is the embedded runtime; it cannot be removed");
                    return Err(ApiError::new(ErrorCode::ConnectionBuiltin, message));
                }
                if !document.remove_remote(id) {
                    return Err(not_removable(&current, id));
                }
                let text = document.render();
                let next = self.load_with(&text)?;
                Ok((text, next))
            })
            .map_err(ApiError::from)
    }
}

fn add_to(document: &mut ConfigDocument, connection: &CheckedConnection) -> Result<(), ApiError> {
    document.add_remote(connection).map_err(|error| {
        ApiError::new(ErrorCode::ConfigInvalid, format!("the config file {LOCAL_CONFIG_FILE} cannot take it: {error}"))
    })
}

/// Why `id`, absent from the personal file's remote connections, cannot be removed there.
fn not_removable(config: &BackendConfig, id: &str) -> ApiError {
    match config.runtime(id) {
        Some(spec) if spec.as_connection().is_some() => {
            let message = format!("{id} is defined in the shared config file {}; remove it there", config::CONFIG_FILE);
            ApiError::new(ErrorCode::ConnectionBuiltin, message)
        }
        Some(spec) => {
            let table = spec.table();
            let message =
                format!("{id} is a [[runtimes.{table}]] entry, not a connection; remove it in the config file");
            ApiError::new(ErrorCode::ConnectionBuiltin, message)
        }
        None => ApiError::new(ErrorCode::ConnectionNotFound, format!("no connection {id}")),
    }
}

/// Whether `id` is the embedded runtime or a configured runtime.
fn is_configured(config: &BackendConfig, id: &RuntimeId) -> bool {
    id.as_str() == EMBEDDED_RUNTIME_ID || config.runtime(id.as_str()).is_some()
}

/// `config_invalid` for a configuration that does not load, with files named relative to the workspace.
pub fn invalid(workspace: &Path, error: &ConfigError) -> ApiError {
    let prefix = format!("{}/", workspace.display());
    let text = error.to_string().replace(&prefix, "");
    ApiError::new(ErrorCode::ConfigInvalid, format!("the configuration does not load: {}", text.replace('\n', "; ")))
}
