//! Turns the merged raw configuration into [`BackendConfig`], collecting every problem with where it was set.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use runtime_api::RuntimeId;

use sources::spec::Check;

use super::fields::{check_display_name, parse_allowed_host, parse_allowed_origin};
use super::origin::{FieldPath, Origins};
use super::raw::{RawConfig, RawEmbedded, RawServer};
use super::{
    AuthMode, BackendConfig, EMBEDDED_RUNTIME_ID, EmbeddedConfig, Problem, SecretRef, ServerConfig, StoreKind,
};

/// Accepted `server.request_timeout_secs`: a second to an hour.
const REQUEST_TIMEOUT_SECS: std::ops::RangeInclusive<i64> = 1..=3600;
/// Accepted `server.body_limit_bytes`: 1 KiB to 16 MiB.
const BODY_LIMIT_BYTES: std::ops::RangeInclusive<i64> = 1024..=16 * 1024 * 1024;
/// Accepted event stream bounds.
const EVENT_STREAMS: std::ops::RangeInclusive<i64> = 1..=1_000_000;
/// Accepted `server.request_head_timeout_secs` and `server.request_body_timeout_secs`: a second to an hour.
const READ_TIMEOUT_SECS: std::ops::RangeInclusive<i64> = 1..=3600;
/// Accepted `server.max_connections`.
const MAX_CONNECTIONS: std::ops::RangeInclusive<i64> = 1..=1_000_000;
/// Accepted `embedded.idle_timeout_secs`: off, or up to a year.
const IDLE_TIMEOUT_SECS: std::ops::RangeInclusive<i64> = 0..=366 * 24 * 3600;
/// Data directory of the fs store when `embedded.data_dir` is not set, relative to the workspace.
const DEFAULT_DATA_DIR: &str = ".yoi/runtime-data";
/// Profiles file used when `embedded.profiles_file` is not set and this file exists, relative to the workspace.
const DEFAULT_PROFILES_FILE: &str = ".yoi/profiles.toml";

/// Validates `raw`; relative paths are resolved against `workspace`, which must be absolute.
pub(super) fn validate(raw: RawConfig, workspace: &Path, origins: &Origins) -> Result<BackendConfig, Vec<Problem>> {
    let mut check = Checker { origins, workspace, problems: Vec::new() };
    let server = check.server(raw.server);
    let embedded = check.embedded(raw.embedded);
    // Each kind of source checks its own entries; ids must be unique across all of them.
    let mut entries = EntryChecker { checker: &mut check, at: FieldPath::root() };
    let checked = raw.runtimes.check(&mut entries);
    let runtimes = FieldPath::root().key("runtimes");
    let ids = checked.iter().filter_map(|c| Some((runtimes.key(c.table).index(c.index).key("id"), c.id.clone()?)));
    let ids: Vec<_> = ids.collect();
    check.unique_ids(ids.into_iter());

    match (server, embedded) {
        (Some(server), Some(embedded)) if check.problems.is_empty() => Ok(BackendConfig {
            workspace: workspace.to_owned(),
            server,
            embedded,
            runtimes: checked.into_iter().filter_map(|c| c.spec).collect(),
            warnings: Vec::new(),
        }),
        _ => Err(check.problems),
    }
}

/// The [`Checker`] as one `[[runtimes.<kind>]]` entry's validation sees it: field names relative to the entry.
struct EntryChecker<'c, 'a> {
    checker: &'c mut Checker<'a>,
    /// The entry being checked.
    at: FieldPath,
}

impl Check for EntryChecker<'_, '_> {
    fn enter(&mut self, table: &'static str, index: usize) {
        self.at = FieldPath::root().key("runtimes").key(table).index(index);
    }

    fn invalid(&mut self, field: &str, problem: &dyn fmt::Display) {
        self.checker.report(&self.at.key(field), problem);
    }

    fn missing(&mut self, field: &str) {
        self.checker.missing::<()>(&self.at, field);
    }

    fn id(&mut self, raw: Option<String>) -> Option<RuntimeId> {
        self.checker.id(&self.at, raw)
    }

    fn display_name(&mut self, raw: Option<String>, id: Option<&RuntimeId>) -> Option<String> {
        self.checker.display_name(&self.at, raw, id)
    }

    fn secret_ref(&mut self, field: &str, raw: Option<String>) -> Option<Option<SecretRef>> {
        self.checker.secret_ref(&self.at.key(field), raw)
    }

    fn path(&mut self, field: &str, raw: PathBuf) -> Option<PathBuf> {
        self.checker.path(&self.at.key(field), raw)
    }
}

/// Collects problems while checking one value after another.
struct Checker<'a> {
    /// Where each value was set.
    origins: &'a Origins,
    /// Base of relative paths.
    workspace: &'a Path,
    /// Every problem so far.
    problems: Vec<Problem>,
}

impl Checker<'_> {
    /// Records a problem with `field`, found where `field` was set.
    fn report(&mut self, field: &FieldPath, message: impl fmt::Display) {
        self.report_at(field, field, message);
    }

    /// Records a problem with `field`, found where `set_by` was set: for a missing value, the value that needs it.
    fn report_at(&mut self, set_by: &FieldPath, field: &FieldPath, message: impl fmt::Display) {
        self.problems.push(Problem {
            location: self.origins.locate(set_by),
            field: Some(field.to_string()),
            message: message.to_string(),
        });
    }

    /// The value of `result`, or `None` after reporting its error against `field`.
    fn ok<T, E: fmt::Display>(&mut self, field: &FieldPath, result: Result<T, E>) -> Option<T> {
        result.map_err(|err| self.report(field, err)).ok()
    }

    /// `[server]`.
    fn server(&mut self, raw: RawServer) -> Option<ServerConfig> {
        let at = FieldPath::root().key("server");
        let bind_path = at.key("bind");
        let bind = raw.bind.parse::<SocketAddr>().map_err(|_| "expected an ip address and port such as 127.0.0.1:8780");
        let bind = self.ok(&bind_path, bind);
        let allowed_hosts = self.each(&at.key("allowed_hosts"), raw.allowed_hosts, parse_allowed_host);
        let allowed_origins = self.each(&at.key("allowed_origins"), raw.allowed_origins, parse_allowed_origin);
        let token_path = at.key("access_token_ref");
        let access_token_ref = self.secret_ref(&token_path, raw.access_token_ref);
        if let Some(bind) = bind
            && !bind.ip().is_loopback()
            && matches!(access_token_ref, Some(None))
        {
            let message = format!("required because server.bind ({bind}) is not a loopback address");
            self.report_at(&bind_path, &token_path, message);
        }
        let auth_path = at.key("auth");
        if raw.auth == AuthMode::None {
            if let Some(bind) = bind
                && !bind.ip().is_loopback()
            {
                let message = format!("\"none\" is allowed with a loopback bind only, and server.bind is {bind}");
                self.report(&auth_path, message);
            }
            if matches!(access_token_ref, Some(Some(_))) {
                self.report(&auth_path, "\"none\" cannot be combined with server.access_token_ref; remove one");
            }
        }
        let timeout = self.in_range(&at.key("request_timeout_secs"), raw.request_timeout_secs, REQUEST_TIMEOUT_SECS);
        let body_limit = self.in_range(&at.key("body_limit_bytes"), raw.body_limit_bytes, BODY_LIMIT_BYTES);
        let streams = self.in_range(&at.key("max_event_streams"), raw.max_event_streams, EVENT_STREAMS);
        let per_client =
            self.in_range(&at.key("max_event_streams_per_client"), raw.max_event_streams_per_client, EVENT_STREAMS);
        let head =
            self.in_range(&at.key("request_head_timeout_secs"), raw.request_head_timeout_secs, READ_TIMEOUT_SECS);
        let body =
            self.in_range(&at.key("request_body_timeout_secs"), raw.request_body_timeout_secs, READ_TIMEOUT_SECS);
        let connections = self.in_range(&at.key("max_connections"), raw.max_connections, MAX_CONNECTIONS);
        let secs = |secs: Option<i64>| Some(Duration::from_secs(secs?.try_into().ok()?));
        Some(ServerConfig {
            bind: bind?,
            allowed_hosts: allowed_hosts?,
            allowed_origins: allowed_origins?,
            access_token_ref: access_token_ref?,
            auth: raw.auth,
            request_timeout: Duration::from_secs(timeout?.try_into().ok()?),
            body_limit_bytes: body_limit?.try_into().ok()?,
            max_event_streams: streams?.try_into().ok()?,
            max_event_streams_per_client: per_client?.try_into().ok()?,
            request_head_timeout: secs(head)?,
            request_body_timeout: secs(body)?,
            max_connections: connections?.try_into().ok()?,
        })
    }

    /// `[embedded]`.
    fn embedded(&mut self, raw: RawEmbedded) -> Option<EmbeddedConfig> {
        let at = FieldPath::root().key("embedded");
        let data_dir = match raw.data_dir {
            Some(dir) => self.path(&at.key("data_dir"), dir).map(Some),
            None if raw.store == StoreKind::Fs => Some(Some(self.workspace.join(DEFAULT_DATA_DIR))),
            None => Some(None),
        };
        let profiles_file = match raw.profiles_file {
            Some(file) => self.path(&at.key("profiles_file"), file).map(Some),
            None => Some(Some(self.workspace.join(DEFAULT_PROFILES_FILE)).filter(|file| file.is_file())),
        };
        let idle = self.in_range(&at.key("idle_timeout_secs"), raw.idle_timeout_secs, IDLE_TIMEOUT_SECS);
        let idle_timeout = idle.and_then(|secs| u64::try_from(secs).ok()).map(|secs| {
            // Zero turns culling off.
            (secs > 0).then(|| Duration::from_secs(secs))
        });
        Some(EmbeddedConfig {
            store: raw.store,
            data_dir: data_dir?,
            profiles_file: profiles_file?,
            idle_timeout: idle_timeout?,
        })
    }

    /// Reports every id used twice, naming both places, across entries of every kind.
    fn unique_ids(&mut self, ids: impl Iterator<Item = (FieldPath, RuntimeId)>) {
        let mut seen: HashMap<RuntimeId, FieldPath> = HashMap::new();
        for (path, id) in ids {
            match seen.get(&id) {
                Some(first) => {
                    let message =
                        format!("runtime id `{id}` is already used by {first} ({})", self.origins.locate(first));
                    self.report(&path, message);
                }
                None => {
                    seen.insert(id, path);
                }
            }
        }
    }

    /// The `id` of an entry: present, well-formed and not the embedded runtime's.
    fn id(&mut self, at: &FieldPath, raw: Option<String>) -> Option<RuntimeId> {
        let Some(raw) = raw else { return self.missing(at, "id") };
        let path = at.key("id");
        let id = self.ok(&path, RuntimeId::parse(raw))?;
        if id.as_str() == EMBEDDED_RUNTIME_ID {
            self.report(&path, format!("runtime id `{EMBEDDED_RUNTIME_ID}` is reserved for the embedded runtime"));
            return None;
        }
        Some(id)
    }

    /// The `display_name` of an entry, defaulting to its id.
    fn display_name(&mut self, at: &FieldPath, raw: Option<String>, id: Option<&RuntimeId>) -> Option<String> {
        match raw {
            Some(name) => self.ok(&at.key("display_name"), check_display_name(&name).map(|()| name)),
            None => id.map(|id| id.as_str().to_owned()),
        }
    }

    /// An optional secret reference: `Some(None)` when not set, `None` when invalid.
    fn secret_ref(&mut self, field: &FieldPath, raw: Option<String>) -> Option<Option<SecretRef>> {
        match raw {
            Some(s) => self.ok(field, SecretRef::parse(&s)).map(|r| Some(r.resolved_against(self.workspace))),
            None => Some(None),
        }
    }

    /// A configured path, made absolute against the workspace.
    fn path(&mut self, field: &FieldPath, path: PathBuf) -> Option<PathBuf> {
        if path.as_os_str().is_empty() {
            self.report(field, "path must not be empty");
            return None;
        }
        Some(self.workspace.join(path))
    }

    /// Checks every element of a list with `parse`, reporting each bad one.
    fn each(
        &mut self,
        at: &FieldPath,
        list: Vec<String>,
        parse: fn(&str) -> Result<String, &'static str>,
    ) -> Option<Vec<String>> {
        let parsed: Vec<_> = list.iter().enumerate().map(|(n, s)| self.ok(&at.index(n), parse(s))).collect();
        parsed.into_iter().collect()
    }

    /// `value` when it lies in `range`.
    fn in_range(&mut self, field: &FieldPath, value: i64, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
        if range.contains(&value) {
            return Some(value);
        }
        self.report(field, format!("must be between {} and {}", range.start(), range.end()));
        None
    }

    /// Reports that the entry at `at` lacks `key`, found where the entry was set.
    fn missing<T>(&mut self, at: &FieldPath, key: &str) -> Option<T> {
        self.report_at(at, &at.key(key), format!("{key} is required"));
        None
    }
}
