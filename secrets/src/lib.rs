//! Secret references (`env:NAME`, `file:PATH`) and the secret values they resolve to, both redacted in `Debug`.
//!
//! Errors never carry the secret, the variable name or the file path: a reference's value is treated like the
//! secret itself, because SPEC §10 forbids it in logs, and an operator who pasted a token where a reference belongs
//! must not see it echoed either.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Prints `<redacted>` in place of a value.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Largest secret file read, in bytes; a reference to something like `/dev/zero` fails instead of filling memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Where a secret is read from: `env:NAME` or `file:PATH`.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable of this process.
    Env(String),
    /// A file; whoever loads the reference makes a relative path absolute against its own directory (the
    /// workspace for the backend, the profiles file's directory for a runtime).
    File(PathBuf),
}

/// A resolved secret value; `Debug` and `Display` print `<redacted>`.
#[derive(Clone)]
pub struct Secret(String);

/// Longest secret reference accepted: room for any sensible path, and a bound on what is written to a file.
pub const MAX_REF_LEN: usize = 1024;

/// Why a secret reference is invalid or cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefError {
    /// The reference starts with neither `env:` nor `file:`.
    #[error("secret reference must start with `env:` or `file:`")]
    UnknownScheme,
    /// `env:` names no variable.
    #[error("secret reference `env:` names no variable")]
    EmptyEnvName,
    /// `env:` names something that cannot be a variable name.
    #[error(
        "secret reference `env:` must name a variable made of ascii letters, digits and '_', not starting with a digit"
    )]
    InvalidEnvName,
    /// `file:` names no file.
    #[error("secret reference `file:` names no file")]
    EmptyPath,
    /// `file:` holds a control character (a NUL would cut the path short where the OS reads it).
    #[error("secret reference `file:` must not contain control characters")]
    ControlInPath,
    /// The reference is longer than [`MAX_REF_LEN`].
    #[error("secret reference must be at most {MAX_REF_LEN} characters")]
    TooLong,
    /// The referenced environment variable is not set.
    #[error("the environment variable named by the secret reference is not set")]
    EnvMissing,
    /// The referenced environment variable is not valid unicode.
    #[error("the environment variable named by the secret reference is not valid unicode")]
    EnvNotUnicode,
    /// The referenced file cannot be read.
    #[error("the secret file cannot be read: {kind}")]
    FileUnreadable {
        /// Why, without the path.
        kind: io::ErrorKind,
    },
    /// The referenced file is larger than [`MAX_SECRET_FILE_BYTES`].
    #[error("the secret file is larger than {MAX_SECRET_FILE_BYTES} bytes")]
    FileTooLarge,
    /// The secret is empty, which is never a usable token.
    #[error("the secret is empty")]
    Empty,
}

impl SecretRef {
    /// Parses `env:NAME` or `file:PATH`.
    pub fn parse(s: &str) -> Result<SecretRef, SecretRefError> {
        if s.len() > MAX_REF_LEN {
            return Err(SecretRefError::TooLong);
        }
        if let Some(name) = s.strip_prefix("env:") {
            check_env_name(name)?;
            Ok(Self::Env(name.to_owned()))
        } else if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SecretRefError::EmptyPath);
            }
            if path.chars().any(char::is_control) {
                return Err(SecretRefError::ControlInPath);
            }
            Ok(Self::File(PathBuf::from(path)))
        } else {
            Err(SecretRefError::UnknownScheme)
        }
    }

    /// The texts that would reveal this reference — `env:NAME` and `NAME`, or `file:PATH` and `PATH` — for
    /// registering with a sanitizer.
    pub fn revealing_forms(&self) -> [String; 2] {
        match self {
            Self::Env(name) => [format!("env:{name}"), name.clone()],
            Self::File(path) => [format!("file:{}", path.display()), path.display().to_string()],
        }
    }

    /// The same reference with a relative file path made absolute against `dir`.
    pub fn resolved_against(self, dir: &Path) -> SecretRef {
        match self {
            Self::File(path) if path.is_relative() => Self::File(dir.join(path)),
            other => other,
        }
    }

    /// Reads the secret now, just before use, so a rotated token is picked up; a file's trailing newline is trimmed.
    pub fn resolve(&self) -> Result<Secret, SecretRefError> {
        let value = match self {
            Self::Env(name) => std::env::var(name).map_err(|err| match err {
                std::env::VarError::NotPresent => SecretRefError::EnvMissing,
                std::env::VarError::NotUnicode(_) => SecretRefError::EnvNotUnicode,
            })?,
            Self::File(path) => read_secret_file(path)?.trim_end_matches(['\n', '\r']).to_owned(),
        };
        if value.is_empty() {
            return Err(SecretRefError::Empty);
        }
        Ok(Secret(value))
    }
}

impl Secret {
    /// The secret value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Accepts `[A-Za-z_][A-Za-z0-9_]*`, the portable shell variable names.
fn check_env_name(name: &str) -> Result<(), SecretRefError> {
    let mut bytes = name.bytes();
    match bytes.next() {
        None => Err(SecretRefError::EmptyEnvName),
        Some(first) if first.is_ascii_alphabetic() || first == b'_' => {
            if bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                Ok(())
            } else {
                Err(SecretRefError::InvalidEnvName)
            }
        }
        Some(_) => Err(SecretRefError::InvalidEnvName),
    }
}

/// Reads at most [`MAX_SECRET_FILE_BYTES`] of UTF-8 text.
fn read_secret_file(path: &Path) -> Result<String, SecretRefError> {
    let unreadable = |err: io::Error| SecretRefError::FileUnreadable { kind: err.kind() };
    let file = File::open(path).map_err(unreadable)?;
    let mut text = String::new();
    file.take(MAX_SECRET_FILE_BYTES + 1).read_to_string(&mut text).map_err(unreadable)?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretRefError::FileTooLarge);
    }
    Ok(text)
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(_) => f.debug_tuple("Env").field(&Redacted).finish(),
            Self::File(_) => f.debug_tuple("File").field(&Redacted).finish(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A name no test environment sets; `set_var` is unsafe in edition 2024 and the crate forbids unsafe code.
    const UNSET_VAR: &str = "YOI_CONFIG_TEST_SURELY_UNSET_7F3A91";

    #[test]
    fn parse_accepts_env_and_file_references() {
        assert_eq!(SecretRef::parse("env:EXAMPLE_TOKEN"), Ok(SecretRef::Env("EXAMPLE_TOKEN".into())));
        assert_eq!(SecretRef::parse("env:_x1"), Ok(SecretRef::Env("_x1".into())));
        assert_eq!(SecretRef::parse("file:.yoi/secrets/t"), Ok(SecretRef::File(".yoi/secrets/t".into())));
    }

    #[test]
    fn parse_rejects_unknown_scheme_empty_names_and_bad_variable_names() {
        assert_eq!(SecretRef::parse("vault:x"), Err(SecretRefError::UnknownScheme));
        assert_eq!(SecretRef::parse("plain-token-value"), Err(SecretRefError::UnknownScheme));
        assert_eq!(SecretRef::parse("ENV:X"), Err(SecretRefError::UnknownScheme));
        assert_eq!(SecretRef::parse("env:"), Err(SecretRefError::EmptyEnvName));
        assert_eq!(SecretRef::parse("file:"), Err(SecretRefError::EmptyPath));
        for bad in ["env:1ABC", "env:A-B", "env:A B", "env:É"] {
            assert_eq!(SecretRef::parse(bad), Err(SecretRefError::InvalidEnvName), "{bad}");
        }
    }

    #[test]
    fn relative_file_reference_resolves_against_the_directory() {
        let dir = Path::new("/ws");
        assert_eq!(SecretRef::parse("file:t").unwrap().resolved_against(dir), SecretRef::File("/ws/t".into()));
        assert_eq!(SecretRef::parse("file:/abs").unwrap().resolved_against(dir), SecretRef::File("/abs".into()));
        assert_eq!(SecretRef::parse("env:X").unwrap().resolved_against(dir), SecretRef::Env("X".into()));
    }

    #[test]
    fn env_reference_reads_the_variable() {
        let Ok(path) = std::env::var("PATH") else { return };
        if path.is_empty() {
            return;
        }
        assert_eq!(SecretRef::Env("PATH".into()).resolve().unwrap().expose(), path);
    }

    #[test]
    fn missing_env_variable_is_an_error_that_does_not_name_it() {
        let err = SecretRef::Env(UNSET_VAR.into()).resolve().unwrap_err();
        assert_eq!(err, SecretRefError::EnvMissing);
        assert!(!err.to_string().contains(UNSET_VAR));
    }

    #[test]
    fn file_reference_reads_the_file_and_trims_the_trailing_newline() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"s3cret-canary\r\n").unwrap();
        let secret = SecretRef::File(file.path().into()).resolve().unwrap();
        assert_eq!(secret.expose(), "s3cret-canary");
        assert_eq!(format!("{secret:?} {secret}"), "<redacted> <redacted>");
    }

    #[test]
    fn missing_empty_or_oversized_file_is_an_error_without_path_or_contents() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-token");
        let err = SecretRef::File(missing.clone()).resolve().unwrap_err();
        assert_eq!(err, SecretRefError::FileUnreadable { kind: io::ErrorKind::NotFound });
        assert!(!err.to_string().contains("no-such-token"));

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert_eq!(SecretRef::File(empty).resolve().unwrap_err(), SecretRefError::Empty);

        let big = dir.path().join("big");
        std::fs::write(&big, "canary-".repeat(20_000)).unwrap();
        let err = SecretRef::File(big).resolve().unwrap_err();
        assert_eq!(err, SecretRefError::FileTooLarge);
        assert!(!err.to_string().contains("canary"));
    }

    #[test]
    fn debug_of_a_reference_hides_its_value() {
        let shown = format!("{:?} {:?}", SecretRef::Env("CANARY_VAR".into()), SecretRef::File("/canary/path".into()));
        assert_eq!(shown, "Env(<redacted>) File(<redacted>)");
    }
}
