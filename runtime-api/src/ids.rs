//! Validated identifiers: parse once at the edge, then pass types that cannot hold a bad id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest identifier accepted anywhere, in bytes (all accepted characters are ASCII).
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which identifier was being parsed.
        kind: &'static str,
    },
    /// The string is longer than [`MAX_ID_LEN`].
    #[error("{kind} must be at most {MAX_ID_LEN} characters")]
    TooLong {
        /// Which identifier was being parsed.
        kind: &'static str,
    },
    /// The first character is not a letter or digit.
    #[error("{kind} must start with a letter or digit")]
    BadStart {
        /// Which identifier was being parsed.
        kind: &'static str,
    },
    /// A character outside the allowed set.
    #[error("{kind} may contain only {allowed}")]
    BadChar {
        /// Which identifier was being parsed.
        kind: &'static str,
        /// Human description of the allowed set.
        allowed: &'static str,
    },
}

/// Bit of [`ALLOWED`] for bytes a lowercase-only identifier may hold.
const IN_LOWERCASE_ID: u8 = 1;
/// Bit of [`ALLOWED`] for bytes any identifier may hold.
const IN_ANY_ID: u8 = 2;

/// Which identifiers may hold each byte: one table lookup per byte, since ids are checked on every request.
static ALLOWED: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_digit() || byte.is_ascii_lowercase() || byte == b'-' || byte == b'_' {
            IN_LOWERCASE_ID | IN_ANY_ID
        } else if byte.is_ascii_uppercase() {
            IN_ANY_ID
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Checks the shared identifier shape: 1 to 64 characters from `allowed`, starting with an alphanumeric.
fn check(kind: &'static str, s: &[u8], lowercase_only: bool) -> Result<(), IdError> {
    let allowed =
        if lowercase_only { "lowercase letters, digits, '-' and '_'" } else { "letters, digits, '-' and '_'" };
    let Some(first) = s.first() else {
        return Err(IdError::Empty { kind });
    };
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind });
    }
    let bit = if lowercase_only { IN_LOWERCASE_ID } else { IN_ANY_ID };
    if !s.iter().all(|&b| ALLOWED[usize::from(b)] & bit != 0) {
        return Err(IdError::BadChar { kind, allowed });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(IdError::BadStart { kind });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, lowercase_only = $lower:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // The text itself: serde's `into = "String"` would clone it for every id written.
                serializer.serialize_str(&self.0)
            }
        }

        impl $name {
            /// Parses and validates an identifier.
            pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check($kind, s.as_bytes(), $lower)?;
                Ok(Self(s))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether `s` is a valid identifier, without making one.
            pub fn is_valid(s: &str) -> bool {
                check($kind, s.as_bytes(), $lower).is_ok()
            }

            /// Whether `bytes` are a valid identifier, for readers that have not made text of them.
            pub(crate) fn is_valid_bytes(bytes: &[u8]) -> bool {
                check($kind, bytes, $lower).is_ok()
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// Identifies a runtime in the backend's registry: lowercase, as operators type it into config files.
    RuntimeId,
    "runtime id",
    lowercase_only = true
);

id_type!(
    /// Identifies a worker inside one runtime; runtimes generate them in creation order.
    WorkerId,
    "worker id",
    lowercase_only = false
);

// The ids serialize as plain strings, so their schemas are written by hand from the same rules `check` applies.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

    use super::{MAX_ID_LEN, RuntimeId, WorkerId};

    /// A string schema of 1 to [`MAX_ID_LEN`] characters from `class`, `-` and `_`, starting with one from `class`.
    fn id_schema(description: &str, class: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .min_length(Some(1))
            .max_length(Some(MAX_ID_LEN))
            .pattern(Some(format!("^[{class}][{class}_-]{{0,{}}}$", MAX_ID_LEN - 1)))
            .into()
    }

    impl utoipa::PartialSchema for RuntimeId {
        fn schema() -> RefOr<Schema> {
            id_schema(
                "Identifies a runtime: lowercase letters, digits, '-' and '_', starting with a letter or digit.",
                "a-z0-9",
            )
        }
    }

    impl utoipa::ToSchema for RuntimeId {}

    impl utoipa::PartialSchema for WorkerId {
        fn schema() -> RefOr<Schema> {
            id_schema(
                "Identifies a worker in its runtime: letters, digits, '-' and '_', starting with a letter or digit.",
                "A-Za-z0-9",
            )
        }
    }

    impl utoipa::ToSchema for WorkerId {}
}

/// The full address of a worker: the runtime that hosts it and its id there.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerRef {
    /// The hosting runtime.
    pub runtime_id: RuntimeId,
    /// The worker inside it.
    pub worker_id: WorkerId,
}

impl fmt::Display for WorkerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.runtime_id, self.worker_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_ids_are_lowercase_identifiers() {
        assert!(RuntimeId::parse("backend-internal").is_ok());
        assert!(RuntimeId::parse("dev_2").is_ok());
        assert_eq!(RuntimeId::parse(""), Err(IdError::Empty { kind: "runtime id" }));
        assert!(matches!(RuntimeId::parse("Dev"), Err(IdError::BadChar { .. })));
        assert!(matches!(RuntimeId::parse("-dev"), Err(IdError::BadStart { .. })));
        assert!(matches!(RuntimeId::parse("a/b"), Err(IdError::BadChar { .. })));
        assert!(matches!(RuntimeId::parse("a".repeat(65)), Err(IdError::TooLong { .. })));
        assert!(RuntimeId::parse("a".repeat(64)).is_ok());
    }

    #[test]
    fn worker_ids_allow_uppercase_but_no_separators_or_paths() {
        assert!(WorkerId::parse("w-01HZX").is_ok());
        for bad in ["", "../etc", "w 1", "w.1", "_w", "w\u{e9}"] {
            assert!(WorkerId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ids_are_validated_when_deserialized() {
        let ok: WorkerId = serde_json::from_str("\"w-1\"").unwrap();
        assert_eq!(ok.as_str(), "w-1");
        let err = serde_json::from_str::<RuntimeId>("\"NOPE\"").unwrap_err();
        assert!(err.to_string().contains("runtime id may contain only"), "{err}");
    }
}
