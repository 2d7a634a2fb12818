//! `workspace-backend connections ...`: the settings API's edits and tests for operators working over SSH,
//! on the same file with the same rules and editing code.

use std::fmt::Write as _;

use clap::Subcommand;
use runtime_api::ApiError;

use sources::spec::BuildOptions;

use crate::config::{CONFIG_FILE, LOCAL_CONFIG_FILE, SecretRef};
use crate::connections::negotiate::{self, TestReport};
use crate::connections::rules::check_binding;
use crate::connections::{ConnectionDraft, Workspace};
use crate::registry::RuntimeRegistry;

/// What to do with the runtime connections.
#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Lists the configured runtime connections.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Adds a remote runtime connection to the personal config file.
    Add {
        /// Runtime id (lowercase letters, digits, '-' and '_').
        #[arg(long)]
        id: String,
        /// Base URL of the worker-runtime, e.g. http://127.0.0.1:8790.
        #[arg(long)]
        endpoint: String,
        /// Name shown in the UI [default: the id].
        #[arg(long)]
        display_name: Option<String>,
        /// Where the token is read from: env:YOI_RUNTIME_TOKEN_<ID> or file:.yoi/secrets/<id>.
        #[arg(long)]
        token_ref: Option<String>,
    },
    /// Removes a remote runtime connection from the personal config file.
    Remove {
        /// Runtime id.
        id: String,
    },
    /// Tests a saved connection (by id) or a candidate (--endpoint); writes nothing.
    Test {
        /// Id of a saved connection, or of the candidate.
        id: Option<String>,
        /// Test this endpoint instead of a saved connection.
        #[arg(long)]
        endpoint: Option<String>,
        /// The candidate's token reference.
        #[arg(long, requires = "endpoint")]
        token_ref: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// What a command printed and whether it succeeded.
pub struct Outcome {
    /// Text for standard output.
    pub output: String,
    /// Whether the command did what was asked (a test: whether the runtime is compatible).
    pub success: bool,
}

/// Runs `command` on `workspace`.
pub async fn run(workspace: Workspace, command: ConnectionsCommand) -> Result<Outcome, ApiError> {
    let done = |output: String| Ok(Outcome { output, success: true });
    match command {
        ConnectionsCommand::List { json } => done(list(&workspace, json)?),
        ConnectionsCommand::Add { id, endpoint, display_name, token_ref } => {
            let display_name = display_name.unwrap_or_else(|| id.clone());
            let draft = ConnectionDraft { id, endpoint, display_name, token_ref };
            workspace.add(&draft, |_| false)?;
            done(format!("added {} to {LOCAL_CONFIG_FILE}; {}\n", draft.id.trim(), APPLY_HINT))
        }
        ConnectionsCommand::Remove { id } => {
            workspace.remove(&id)?;
            done(format!("removed {id} from {LOCAL_CONFIG_FILE}; {APPLY_HINT}\n"))
        }
        ConnectionsCommand::Test { id, endpoint, token_ref, json } => {
            let report = test(&workspace, id, endpoint, token_ref).await?;
            let output = if json { to_json(&report) } else { describe(&report) };
            Ok(Outcome { output, success: report.compatible })
        }
    }
}

const APPLY_HINT: &str = "a running backend applies it when it receives SIGHUP (kill -HUP <pid>)";

fn list(workspace: &Workspace, json: bool) -> Result<String, ApiError> {
    let config = workspace.load()?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    let local = workspace.local_entries()?;
    let rows: Vec<_> = config
        .runtimes
        .iter()
        .filter_map(|spec| spec.as_connection())
        .map(|remote| {
            let in_local =
                local.iter().any(|(table, id)| table == sources::spec::RemoteSpec::TABLE && id == remote.id.as_str());
            let file = if in_local { LOCAL_CONFIG_FILE } else { CONFIG_FILE };
            let token = match &remote.token_ref {
                Some(SecretRef::Env(name)) => format!("env:{name}"),
                Some(SecretRef::File(path)) => match path.strip_prefix(&workspace.dir) {
                    Ok(relative) => format!("file:{}", relative.display()),
                    Err(_) => "file:(outside the workspace)".to_owned(),
                },
                None => "-".to_owned(),
            };
            (remote.id.to_string(), remote.display_name.clone(), remote.endpoint.to_string(), token, file)
        })
        .collect();
    if json {
        let value: Vec<_> = rows
            .iter()
            .map(|(id, name, endpoint, token, file)| {
                serde_json::json!({"id": id, "display_name": name, "endpoint": endpoint, "token_ref": token, "file": file})
            })
            .collect();
        return Ok(to_json(&value));
    }
    let mut out = String::new();
    let _ = writeln!(out, "{:<20} {:<24} {:<32} {:<28} FILE", "ID", "DISPLAY NAME", "ENDPOINT", "TOKEN REF");
    for (id, name, endpoint, token, file) in &rows {
        let _ = writeln!(out, "{id:<20} {name:<24} {endpoint:<32} {token:<28} {file}");
    }
    if rows.is_empty() {
        let _ = writeln!(out, "(no remote connections; add one with `workspace-backend connections add`)");
    }
    Ok(out)
}

async fn test(
    workspace: &Workspace,
    id: Option<String>,
    endpoint: Option<String>,
    token_ref: Option<String>,
) -> Result<TestReport, ApiError> {
    let connection = match (id, endpoint) {
        (id, Some(endpoint)) => {
            let id = id.unwrap_or_else(|| "candidate".to_owned());
            let draft = ConnectionDraft { display_name: id.clone(), id, endpoint, token_ref };
            let candidate = draft.check()?.spec(&workspace.dir)?;
            check_binding(&candidate, &workspace.load()?, &workspace.dir)?;
            candidate
        }
        (Some(id), None) => {
            let config = workspace.load()?;
            match config.runtime(&id).and_then(|spec| spec.as_connection()) {
                Some(connection) => connection.clone(),
                None => {
                    let message = format!("no connection {id}");
                    return Err(ApiError::new(runtime_api::ErrorCode::ConnectionNotFound, message));
                }
            }
        }
        (None, None) => return Err(ApiError::invalid("name a saved connection, or give --endpoint")),
    };
    // Outside a running backend: a registry of its own, with the default limits, only to build the stack.
    let deadlines = crate::stack::StackSettings::default();
    let options = BuildOptions { remote: deadlines.deadlines.remote_timeouts(crate::server::DEFAULT_RECONNECT_MAX) };
    let registry = RuntimeRegistry::new(deadlines, std::sync::Arc::new(crate::metrics::Metrics::new()));
    Ok(negotiate::test(connection, &registry, &options).await)
}

/// A report as text an operator reads in a terminal.
fn describe(report: &TestReport) -> String {
    let mut out = String::new();
    let verdict = if report.compatible { "compatible" } else { "NOT compatible" };
    let _ = writeln!(out, "{verdict}: {}", report.basis);
    if let Some(observed) = &report.observed {
        let protocol = &observed.protocol;
        let _ = writeln!(out, "runtime:  {} ({}), {:?}", observed.runtime_id, observed.display_name, observed.status);
        let _ = writeln!(out, "protocol: {} {} [{}]", protocol.name, protocol.version, protocol.features.join(", "));
    }
    for verdict in &report.operations {
        let mark = if verdict.supported { "yes" } else { "no " };
        let reason = verdict.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        let _ = writeln!(out, "  {mark} {}{reason}", verdict.label);
    }
    for diagnostic in &report.diagnostics {
        let _ = writeln!(out, "{}: {}", diagnostic.code, diagnostic.message);
    }
    out
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).map(|text| text + "\n").unwrap_or_default()
}
