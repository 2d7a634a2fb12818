//! What a connection added through the settings API or the CLI must satisfy, each problem naming its field.

use std::path::{Component, Path, PathBuf};

use runtime_api::{ApiError, ErrorCode, RuntimeId};
use serde::Deserialize;
use url::Url;
use utoipa::ToSchema;

use crate::config::{BackendConfig, RemoteSpec, SecretRef, check_display_name, normalized_endpoint, parse_endpoint};

/// Prefix of the environment variables the settings API may name as a token reference.
pub const TOKEN_ENV_PREFIX: &str = "YOI_RUNTIME_TOKEN_";
/// Directory, relative to the workspace, of the files the settings API may name as a token reference.
pub const TOKEN_FILE_DIR: &str = ".yoi/secrets";

/// A connection as an operator types it: the body of the add and test routes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDraft {
    /// The runtime id it is registered under.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub id: String,
    /// Base URL of the `worker-runtime` process: `http` or `https`, a host and an optional port, nothing
    /// else (the host and port must also be valid, which a pattern cannot say in full).
    #[schema(min_length = 8, max_length = 512, pattern = r"^https?://[^/?#@\s]+/?$")]
    pub endpoint: String,
    /// Name shown in the UI: not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: String,
    /// Where the token is read from: `env:YOI_RUNTIME_TOKEN_<ID>` or `file:.yoi/secrets/<id>`, the connection's
    /// own variable or file (another connection's is `403 forbidden`); never the token. Empty or absent:
    /// none.
    #[serde(default)]
    #[schema(
        max_length = 1024,
        pattern = r"^$|^env:YOI_RUNTIME_TOKEN_[A-Z0-9_]+$|^file:\.yoi/secrets/[a-z0-9][a-z0-9_-]{0,63}$"
    )]
    pub token_ref: Option<String>,
}

/// A draft that passed every rule; the strings are kept as typed for the config file, but for the endpoint,
/// which is written in its one normalized spelling.
#[derive(Debug, Clone)]
pub struct CheckedConnection {
    /// The id.
    pub id: RuntimeId,
    /// The endpoint, parsed.
    pub endpoint: Url,
    /// The endpoint as written to the file: normalized, without a trailing slash.
    pub endpoint_text: String,
    /// The display name.
    pub display_name: String,
    /// The token reference as typed, if any.
    pub token_ref: Option<String>,
}

impl ConnectionDraft {
    /// Checks every field, in form order. Every problem is reported at once (`problems`), the first one as
    /// the error's own field and message, so a form can mark them all after one submit.
    pub fn check(&self) -> Result<CheckedConnection, ApiError> {
        // An id already taken (the embedded runtime's among them) is a `duplicate_connection`, found where the
        // other runtimes are known.
        // Values are taken exactly as sent (the page trims what people type): the document's patterns say
        // what is accepted, and a value with spaces around it is not.
        let id = RuntimeId::parse(self.id.as_str()).map_err(|err| field_error("id", err));
        let display_name = check_display_name(&self.display_name).map_err(|err| field_error("display_name", err));
        let endpoint = parse_endpoint(&self.endpoint).map_err(|err| field_error("endpoint", err));
        let token_ref = match self.token_ref.as_deref() {
            None | Some("") => Ok(None),
            Some(text) => check_token_ref(text)
                .map_err(|message| field_error("token_ref", message))
                .and_then(|()| id.as_ref().map_or(Ok(()), |id| check_owner(text, id)))
                .map(|()| Some(text.to_owned())),
        };
        match (id, display_name, endpoint, token_ref) {
            (Ok(id), Ok(()), Ok(endpoint), Ok(token_ref)) => {
                let endpoint_text = normalized_endpoint(&endpoint);
                Ok(CheckedConnection {
                    id,
                    endpoint,
                    endpoint_text,
                    display_name: self.display_name.clone(),
                    token_ref,
                })
            }
            (id, display_name, endpoint, token_ref) => {
                let errors = [id.err(), display_name.err(), endpoint.err(), token_ref.err()];
                Err(ApiError::of_problems(errors.into_iter().flatten().collect()).unwrap_or_else(ApiError::internal))
            }
        }
    }
}

impl CheckedConnection {
    /// The spec it would be saved as, its token reference made absolute against `workspace`.
    pub fn spec(&self, workspace: &Path) -> Result<RemoteSpec, ApiError> {
        let token_ref = self
            .token_ref
            .as_deref()
            .map(|text| SecretRef::parse(text).map(|r| r.resolved_against(workspace)))
            .transpose()
            .map_err(|error| field_error("token_ref", error))?;
        Ok(RemoteSpec {
            id: self.id.clone(),
            endpoint: self.endpoint.clone(),
            display_name: self.display_name.clone(),
            token_ref,
            ca_file: None,
        })
    }
}

/// The token references connection `id` may name through the settings API: its own variable and its own
/// file. Tying a reference to one id means a request naming another connection's reference is visibly a
/// request for another connection's token.
pub fn own_token_refs(id: &RuntimeId) -> [String; 2] {
    let variable: String = id.as_str().chars().map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() }).collect();
    [format!("env:{TOKEN_ENV_PREFIX}{variable}"), format!("file:{TOKEN_FILE_DIR}/{id}")]
}

/// Refuses a reference of the namespace that is not `id`'s own.
fn check_owner(text: &str, id: &RuntimeId) -> Result<(), ApiError> {
    let [variable, file] = own_token_refs(id);
    if text == variable || text == file {
        return Ok(());
    }
    let message = format!(
        "token reference {text} is not connection {id}'s own: a connection reads its token from {variable} or {file}"
    );
    Err(ApiError::new(ErrorCode::Forbidden, message).with_field("token_ref"))
}

/// Refuses `candidate` when its token reference is bound to a configured connection with another id or
/// endpoint: a token is only ever sent to the endpoint its connection was saved with.
pub fn check_binding(candidate: &RemoteSpec, config: &BackendConfig, workspace: &Path) -> Result<(), ApiError> {
    let Some(wanted) = &candidate.token_ref else { return Ok(()) };
    let wanted = comparable(wanted, workspace);
    let bound = config.runtimes.iter().filter_map(|spec| spec.as_connection()).find(|saved| {
        saved.token_ref.as_ref().is_some_and(|r| comparable(r, workspace) == wanted)
            && (saved.id != candidate.id || saved.endpoint != candidate.endpoint)
    });
    match bound {
        None => Ok(()),
        Some(saved) => {
            let message = format!(
                "the token reference is bound to connection {}; a token is only sent to the endpoint its \
                 connection was saved with",
                saved.id
            );
            Err(ApiError::new(ErrorCode::Forbidden, message).with_field("token_ref"))
        }
    }
}

/// A reference in a form two spellings of the same secret share: files absolute, `.` and `..` resolved.
fn comparable(reference: &SecretRef, workspace: &Path) -> SecretRef {
    match reference.clone().resolved_against(workspace) {
        SecretRef::File(path) => {
            let mut plain = PathBuf::new();
            for component in path.components() {
                match component {
                    Component::ParentDir => {
                        plain.pop();
                    }
                    Component::CurDir => {}
                    other => plain.push(other),
                }
            }
            SecretRef::File(plain)
        }
        env => env,
    }
}

/// `invalid_request` about one field.
pub fn field_error(field: &str, message: impl std::fmt::Display) -> ApiError {
    let message = message.to_string();
    let name = if field == "token_ref" { "token reference".to_owned() } else { field.replace('_', " ") };
    // Most messages already start with the field's name ("endpoint must have a host").
    let named = message.starts_with(&name) || message.starts_with(&format!("runtime {name}"));
    let message = if named { message } else { format!("{name}: {message}") };
    ApiError::invalid(message).with_field(field)
}

/// Accepts only references inside the runtime-token namespace, so the page cannot make the backend send an
/// arbitrary variable or file to an endpoint of its choosing.
pub fn check_token_ref(text: &str) -> Result<(), String> {
    let outside = || {
        format!(
            "only `env:{TOKEN_ENV_PREFIX}<ID>` or `file:{TOKEN_FILE_DIR}/<id>` references can be set here; \
             other references can be set by editing the config file"
        )
    };
    match SecretRef::parse(text).map_err(|err| err.to_string())? {
        SecretRef::Env(name) => {
            let suffix = name.strip_prefix(TOKEN_ENV_PREFIX).ok_or_else(outside)?;
            if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
                return Err(format!("the variable must be `{TOKEN_ENV_PREFIX}` followed by A-Z, 0-9 or _"));
            }
            Ok(())
        }
        SecretRef::File(path) => {
            let inside = path.strip_prefix(Path::new(TOKEN_FILE_DIR)).map_err(|_| outside())?;
            let plain = inside.components().all(|c| matches!(c, Component::Normal(_)));
            if inside.as_os_str().is_empty() || !plain {
                return Err(format!("the file must be a plain path below `{TOKEN_FILE_DIR}/`, without `..`"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(id: &str, endpoint: &str, name: &str, token_ref: Option<&str>) -> ConnectionDraft {
        ConnectionDraft {
            id: id.into(),
            endpoint: endpoint.into(),
            display_name: name.into(),
            token_ref: token_ref.map(Into::into),
        }
    }

    fn field_of(draft: ConnectionDraft) -> Option<String> {
        draft.check().unwrap_err().field
    }

    #[test]
    fn a_good_draft_passes_and_keeps_what_was_typed() {
        let checked = draft("dev", "http://127.0.0.1:8790", "Dev", Some("env:YOI_RUNTIME_TOKEN_DEV")).check().unwrap();
        assert_eq!(checked.id.as_str(), "dev");
        assert_eq!(checked.endpoint_text, "http://127.0.0.1:8790");
        assert_eq!(checked.token_ref.as_deref(), Some("env:YOI_RUNTIME_TOKEN_DEV"));
        let checked = draft("dev", "https://rt.example", "Dev", Some("")).check().unwrap();
        assert_eq!(checked.token_ref, None, "an empty reference means none");
    }

    #[test]
    fn each_bad_field_is_named() {
        let ok = "http://127.0.0.1:8790";
        assert_eq!(field_of(draft("Dev!", ok, "Dev", None)).as_deref(), Some("id"));
        for endpoint in ["ftp://x", "http://", "http://u:p@h", "http://h/?q=1", "http://h/#f", "not a url"] {
            assert_eq!(field_of(draft("dev", endpoint, "Dev", None)).as_deref(), Some("endpoint"), "{endpoint}");
        }
        for name in ["", "  ", "a\u{7}b", &"x".repeat(101)] {
            assert_eq!(field_of(draft("dev", ok, name, None)).as_deref(), Some("display_name"), "{name:?}");
        }
        let error = draft("dev", "ftp://x", "Dev", None).check().unwrap_err();
        assert_eq!(error.code, runtime_api::ErrorCode::InvalidRequest);
        assert_eq!(error.message, "endpoint scheme must be http or https");
        let error = draft("dev", "http://h", "Dev", Some("env:HOME")).check().unwrap_err();
        assert!(error.message.starts_with("token reference: only `env:YOI_RUNTIME_TOKEN_"), "{}", error.message);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let error = draft("Dev!", "ftp://x", "", Some("env:HOME")).check().unwrap_err();
        assert_eq!(error.field.as_deref(), Some("id"), "the first problem leads");
        let fields: Vec<_> = error.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["id", "display_name", "endpoint", "token_ref"]);
        assert_eq!(error.problems[2].message, "endpoint scheme must be http or https");
        let single = draft("dev", "ftp://x", "Dev", None).check().unwrap_err();
        assert!(single.problems.is_empty(), "one problem needs no list: {single:?}");
    }

    #[test]
    fn a_connection_may_name_only_its_own_variable_or_file() {
        let id = RuntimeId::parse("dev-2").unwrap();
        assert_eq!(own_token_refs(&id), ["env:YOI_RUNTIME_TOKEN_DEV_2", "file:.yoi/secrets/dev-2"]);
        for own in ["env:YOI_RUNTIME_TOKEN_DEV_2", "file:.yoi/secrets/dev-2"] {
            assert!(draft("dev-2", "http://h", "Dev", Some(own)).check().is_ok(), "{own}");
        }
        for foreign in ["env:YOI_RUNTIME_TOKEN_PROD", "file:.yoi/secrets/prod", "file:.yoi/secrets/dev-2/x"] {
            let error = draft("dev-2", "http://h", "Dev", Some(foreign)).check().unwrap_err();
            assert_eq!((error.code, error.field.as_deref()), (ErrorCode::Forbidden, Some("token_ref")), "{foreign}");
            assert!(error.message.contains("env:YOI_RUNTIME_TOKEN_DEV_2"), "says what to use: {}", error.message);
        }
    }

    #[test]
    fn token_references_stay_inside_the_runtime_token_namespace() {
        for good in [
            "env:YOI_RUNTIME_TOKEN_DEV",
            "env:YOI_RUNTIME_TOKEN_A_1",
            "file:.yoi/secrets/dev",
            "file:.yoi/secrets/a/b.txt",
        ] {
            assert!(check_token_ref(good).is_ok(), "{good}");
        }
        for bad in [
            "env:HOME",
            "env:AWS_SECRET_ACCESS_KEY",
            "env:YOI_RUNTIME_TOKEN_",
            "env:YOI_RUNTIME_TOKEN_dev",
            "file:/etc/shadow",
            "file:.yoi/secrets/../workspace-backend.toml",
            "file:.yoi/secrets/",
            "file:../.yoi/secrets/x",
            "vault:x",
            "YOI_RUNTIME_TOKEN_DEV",
            "file:.yoi/secrets/dev\0",
            "file:.yoi/secrets/d\nev",
        ] {
            assert!(check_token_ref(bad).is_err(), "{bad}");
        }
    }
}
