//! The backend's own access token (SPEC §10): the configured one, or one generated at first start and kept in
//! the workspace so a restart keeps every signed-in browser and script working.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::{Secret, SecretRef, SecretRefError};

/// Where a generated access token is kept, relative to the workspace directory. Not under `.yoi/secrets/`,
/// whose file names are runtime ids.
pub const GENERATED_TOKEN_FILE: &str = ".yoi/access-token";

/// Random bytes in a generated token (hex-encoded: 64 characters).
const TOKEN_BYTES: usize = 32;

/// How the Browser API asks for credentials.
#[derive(Clone)]
pub enum Access {
    /// The token `server.access_token_ref` names.
    Configured(Secret),
    /// A token the backend generated and keeps in [`GENERATED_TOKEN_FILE`].
    Generated(Secret),
    /// No credentials at all (`--no-auth`, loopback only).
    Off,
}

impl Access {
    /// The token every request must carry, if any.
    pub fn token(&self) -> Option<&Secret> {
        match self {
            Access::Configured(token) | Access::Generated(token) => Some(token),
            Access::Off => None,
        }
    }
}

/// Why the generated token could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AccessTokenError {
    /// Reading, writing or restricting the token file failed.
    #[error("cannot keep the generated access token in {GENERATED_TOKEN_FILE}: {0}")]
    Io(#[from] io::Error),
    /// The token file exists but holds no usable token.
    #[error("{GENERATED_TOKEN_FILE} holds no usable token ({0}); remove it and a new one is generated")]
    Unusable(SecretRefError),
}

/// The generated token of `workspace`: the one already kept there, else a new one written (mode 0600, synced)
/// before it is used. A kept file that others may read is restricted to its owner first.
pub fn generated_token(workspace: &Path) -> Result<Secret, AccessTokenError> {
    let path = workspace.join(GENERATED_TOKEN_FILE);
    match fs::symlink_metadata(&path) {
        Ok(meta) => restrict(&path, &meta)?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => create(&path)?,
        Err(error) => return Err(error.into()),
    }
    SecretRef::File(path).resolve().map_err(AccessTokenError::Unusable)
}

/// Makes a kept token file readable by its owner only.
fn restrict(path: &Path, meta: &fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!("the generated access token was readable by others; it is now readable by its owner only");
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
    Ok(())
}

/// Writes a new token to a private temporary file and links it into place, so the file is never seen half
/// written and a backend starting at the same moment keeps the token that landed first.
fn create(path: &Path) -> io::Result<()> {
    let dir = path.parent().expect("the token file sits in .yoi/");
    fs::create_dir_all(dir)?;
    let temporary = temporary_path(path);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let written = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(new_token()?.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        match fs::hard_link(&temporary, path) {
            Err(error) if error.kind() != io::ErrorKind::AlreadyExists => return Err(error),
            _ => {}
        }
        sync_dir(dir)
    })();
    let _ = fs::remove_file(&temporary);
    written
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().expect("a file name").to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// 32 random bytes from the operating system, hex-encoded.
fn new_token() -> io::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Makes the new directory entry durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace whose token file already holds `text`, and that file's path.
    fn workspace_keeping(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(GENERATED_TOKEN_FILE);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_token_is_generated_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = generated_token(dir.path()).unwrap();
        assert_eq!(first.expose().len(), 2 * TOKEN_BYTES);
        assert!(first.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        let path = dir.path().join(GENERATED_TOKEN_FILE);
        #[cfg(unix)]
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(generated_token(dir.path()).unwrap().expose(), first.expose());
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, ["access-token"]);

        let other = tempfile::tempdir().unwrap();
        assert_ne!(generated_token(other.path()).unwrap().expose(), first.expose());
    }

    #[cfg(unix)]
    #[test]
    fn a_kept_token_others_could_read_is_restricted_and_kept() {
        let (dir, path) = workspace_keeping("kept-token\n");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(generated_token(dir.path()).unwrap().expose(), "kept-token");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn an_empty_token_file_is_refused_with_what_to_do() {
        let (dir, _) = workspace_keeping("\n");
        let error = generated_token(dir.path()).unwrap_err().to_string();
        assert!(error.contains("remove it"), "{error}");
        assert!(!error.contains(&dir.path().display().to_string()), "{error}");
    }
}
