//! Read-modify-write of the personal config file: one writer at a time, an edit made on disk meanwhile
//! detected rather than overwritten, and the new text replacing the old atomically and durably.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use runtime_api::{ApiError, ErrorCode};

use super::document::{ConfigDocument, DocumentError};

/// Why an edit of the file did not happen; the file is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file on disk is not a configuration file this code can edit.
    #[error("the config file {file} cannot be edited: {reason}")]
    Invalid {
        /// The file, relative to the workspace.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file changed on disk while it was being edited.
    #[error("the config file {file} changed on disk during the edit; nothing was written, try again")]
    Conflict {
        /// The file, relative to the workspace.
        file: String,
    },
    /// Reading or writing failed.
    #[error("the config file {file} cannot be {doing}: {kind}")]
    Io {
        /// The file, relative to the workspace.
        file: String,
        /// `read` or `written`.
        doing: &'static str,
        /// What the system said, without the path.
        kind: io::ErrorKind,
    },
    /// The edit itself was refused.
    #[error("{0}")]
    Refused(ApiError),
}

impl From<EditError> for ApiError {
    fn from(error: EditError) -> Self {
        match error {
            EditError::Refused(error) => error,
            EditError::Invalid { .. } => ApiError::new(ErrorCode::ConfigInvalid, error.to_string()),
            EditError::Conflict { .. } => ApiError::new(ErrorCode::ConfigConflict, error.to_string()),
            EditError::Io { .. } => ApiError::new(ErrorCode::ConfigInvalid, error.to_string()),
        }
    }
}

/// The file an edit applies to.
#[derive(Debug, Clone)]
pub struct EditableFile {
    /// Absolute path.
    path: PathBuf,
    /// How it is named in messages: relative to the workspace, so no message shows where the workspace is.
    shown: String,
}

impl EditableFile {
    /// The file at `path`, shown as `shown` in messages.
    pub fn new(path: PathBuf, shown: impl Into<String>) -> Self {
        EditableFile { path, shown: shown.into() }
    }

    /// The file's current text; empty when it does not exist.
    pub fn read(&self) -> Result<String, EditError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(String::new()),
            Err(err) => Err(self.io("read", &err)),
        }
    }

    /// Runs `edit` on the parsed file and writes the result.
    ///
    /// `edit` gets the new text's document and returns the text to write with its own result; it may refuse
    /// with an error, and then nothing is written. Writers in this and other processes that use this code
    /// take turns on a lock file; anyone else's edit between the read and the write is noticed and answered
    /// [`EditError::Conflict`].
    pub fn edit<T>(
        &self,
        edit: impl FnOnce(&mut ConfigDocument) -> Result<(String, T), ApiError>,
    ) -> Result<T, EditError> {
        let dir = self.path.parent().ok_or_else(|| self.io("written", &io::ErrorKind::InvalidInput.into()))?;
        fs::create_dir_all(dir).map_err(|err| self.io("written", &err))?;
        let _turn = self.take_turn(dir)?;
        let before = self.read()?;
        let mut document = ConfigDocument::parse(&before).map_err(|err| self.invalid(err))?;
        let (after, value) = edit(&mut document).map_err(EditError::Refused)?;
        if after == before {
            return Ok(value);
        }
        let temp = self.write_temp(dir, &after)?;
        // The last moment before the rename: anything written since the read would be lost by it.
        if self.read()? != before {
            let _ = fs::remove_file(&temp);
            return Err(EditError::Conflict { file: self.shown.clone() });
        }
        fs::rename(&temp, &self.path).map_err(|err| {
            let _ = fs::remove_file(&temp);
            self.io("written", &err)
        })?;
        // The rename is durable only once the directory entry is.
        File::open(dir).and_then(|d| d.sync_all()).map_err(|err| self.io("written", &err))?;
        Ok(value)
    }

    /// An exclusive lock held until the returned file is dropped.
    fn take_turn(&self, dir: &Path) -> Result<File, EditError> {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!(".{name}.lock")))
            .map_err(|err| self.io("written", &err))?;
        lock.lock().map_err(|err| self.io("written", &err))?;
        Ok(lock)
    }

    /// Writes `text` to a new file beside the target, durably, with the target's permissions.
    fn write_temp(&self, dir: &Path, text: &str) -> Result<PathBuf, EditError> {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = dir.join(format!(".{name}.{}.tmp", ulid::Ulid::new()));
        let written = (|| {
            let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
            if let Ok(metadata) = fs::metadata(&self.path) {
                file.set_permissions(metadata.permissions())?;
            }
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })();
        written.map_err(|err| {
            let _ = fs::remove_file(&temp);
            self.io("written", &err)
        })?;
        Ok(temp)
    }

    fn invalid(&self, error: DocumentError) -> EditError {
        EditError::Invalid { file: self.shown.clone(), reason: error.to_string() }
    }

    fn io(&self, doing: &'static str, error: &io::Error) -> EditError {
        EditError::Io { file: self.shown.clone(), doing, kind: error.kind() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_in(dir: &Path) -> EditableFile {
        EditableFile::new(dir.join(".yoi/local.toml"), ".yoi/local.toml")
    }

    fn append(line: &'static str) -> impl FnOnce(&mut ConfigDocument) -> Result<(String, ()), ApiError> {
        move |doc| Ok((format!("{}{line}\n", doc.render()), ()))
    }

    #[test]
    fn a_missing_file_and_its_directory_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path());
        file.edit(append("# hello")).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join(".yoi/local.toml")).unwrap(), "# hello\n");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join(".yoi"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temp file is left behind: {leftovers:?}");
    }

    #[test]
    fn a_file_that_does_not_parse_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path());
        fs::create_dir_all(dir.path().join(".yoi")).unwrap();
        fs::write(dir.path().join(".yoi/local.toml"), "[server\n").unwrap();
        let error = file.edit(append("x = 1")).unwrap_err();
        assert!(matches!(error, EditError::Invalid { .. }), "{error:?}");
        assert_eq!(ApiError::from(error).code, ErrorCode::ConfigInvalid);
        assert_eq!(fs::read_to_string(dir.path().join(".yoi/local.toml")).unwrap(), "[server\n");
    }

    #[test]
    fn an_edit_on_disk_between_read_and_write_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path());
        file.edit(append("# first")).unwrap();
        let path = dir.path().join(".yoi/local.toml");
        let error = file
            .edit(|doc| {
                // Someone saves the file by hand while the edit is being prepared.
                fs::write(&path, "# by hand\n").unwrap();
                Ok((format!("{}# mine\n", doc.render()), ()))
            })
            .unwrap_err();
        assert!(matches!(error, EditError::Conflict { .. }), "{error:?}");
        assert_eq!(ApiError::from(error).code, ErrorCode::ConfigConflict);
        assert_eq!(fs::read_to_string(&path).unwrap(), "# by hand\n", "the hand edit is not overwritten");
    }

    #[test]
    fn a_refused_edit_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path());
        let refused: Result<(), _> = file.edit(|_| Err(ApiError::invalid("no")));
        assert!(matches!(refused, Err(EditError::Refused(_))));
        assert!(!dir.path().join(".yoi/local.toml").exists());
    }

    #[test]
    fn concurrent_writers_each_land() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path());
        std::thread::scope(|scope| {
            for n in 0..8 {
                let file = file.clone();
                scope.spawn(move || {
                    for round in 0..10 {
                        file.edit(|doc| Ok((format!("{}# {n}-{round}\n", doc.render()), ()))).unwrap();
                    }
                });
            }
        });
        let text = fs::read_to_string(dir.path().join(".yoi/local.toml")).unwrap();
        assert_eq!(text.lines().count(), 80, "no update is lost:\n{text}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path());
        file.edit(append("# a")).unwrap();
        let path = dir.path().join(".yoi/local.toml");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        file.edit(append("# b")).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
