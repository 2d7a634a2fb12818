//! `workspace-backend`: serves the Browser API over every configured runtime.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use backend::access::Access;
use backend::cli::ConnectionsCommand;
use backend::config::{self, CliOverrides};
use backend::connections::Workspace;
use backend::server::Backend;
use clap::{Parser, Subcommand};

// Request handling allocates many small, short-lived values across threads, where the system allocator's
// arena locks show up in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Workspace Backend: one safe API and web UI over every runtime.
#[derive(Debug, Parser)]
#[command(name = "workspace-backend", version)]
struct Cli {
    /// Directory holding `.yoi/` (configuration, profiles, secrets).
    #[arg(long, global = true, env = "YOI_BACKEND_WORKSPACE", default_value = ".")]
    workspace: PathBuf,
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8780, or server.bind].
    #[arg(long, env = "YOI_BACKEND_BIND")]
    bind: Option<SocketAddr>,
    /// Ask for no access token (loopback binds only); by default the backend generates one in
    /// `.yoi/access-token` and prints a sign-in link.
    #[arg(long, env = "YOI_BACKEND_NO_AUTH")]
    no_auth: bool,
    /// Log filter, in `tracing` env-filter syntax; logs go to standard error.
    #[arg(long, global = true, env = "YOI_BACKEND_LOG", default_value = "info")]
    log: String,
    /// Without a command, the backend serves.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lists, adds, removes or tests runtime connections in the workspace's config file.
    Connections {
        #[command(subcommand)]
        command: ConnectionsCommand,
    },
}

fn main() -> ExitCode {
    api_http::binary::run("workspace-backend", run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    api_http::binary::init_logging(&cli.log)?;

    let workspace = std::path::absolute(&cli.workspace).context("cannot resolve --workspace")?;
    let overrides = CliOverrides { bind: cli.bind, no_auth: cli.no_auth };
    if let Some(Command::Connections { command }) = cli.command {
        return connections(Workspace::new(workspace, overrides), command).await;
    }
    let config = config::load(&workspace, &overrides)?;
    warn_about(&config);
    let backend = Backend::builder(config).cli(overrides).generate_access_token().build().await?;
    reload_on_hangup(backend.connections().clone());
    let listening = backend.bind().await?;
    // The lines on standard output: scripts wait for the first to know the backend accepts connections, and
    // a person opens the second. One write, so a reader that stops after the first line cannot make the
    // second fail.
    let addr = listening.local_addr();
    let lines = format!("listening on http://{addr}\n{}\n", sign_in_line(addr, listening.access()));
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(lines.as_bytes())?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(address = %listening.local_addr(), "workspace backend started");
    listening.serve(api_http::shutdown_signal()).await?;
    tracing::info!("workspace backend stopped");
    Ok(())
}

/// The line that tells a person how to open the page. It carries a generated token, as Jupyter's does: it
/// goes to standard output for the person who started the backend, never to the log.
fn sign_in_line(addr: SocketAddr, access: &Access) -> String {
    match access {
        Access::Generated(token) => format!("sign in at http://{addr}/?token={}", token.expose()),
        Access::Configured(_) => format!("sign in at http://{addr}/ with the configured access token"),
        Access::Off => format!("open http://{addr}/ (no sign-in: --no-auth)"),
    }
}

/// Runs a `connections` command: its output on standard output, a refusal as the error.
async fn connections(workspace: Workspace, command: ConnectionsCommand) -> anyhow::Result<()> {
    let outcome = backend::cli::run(workspace, command)
        .await
        .map_err(|error| anyhow::anyhow!("{}: {}", error.code.as_str(), error.message))?;
    print!("{}", outcome.output);
    std::io::stdout().flush()?;
    if !outcome.success {
        anyhow::bail!("the runtime cannot be used by this backend");
    }
    Ok(())
}

/// Reloads the runtime connections from the config file on every SIGHUP.
fn reload_on_hangup(connections: std::sync::Arc<backend::connections::Connections>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload by restarting");
            return;
        };
        while hangups.recv().await.is_some() {
            match connections.reload().await {
                Ok(reloaded) => {
                    let changes = &reloaded.changes;
                    tracing::info!(
                        added = changes.added.len(),
                        removed = changes.removed.len(),
                        failed = changes.failed.len(),
                        "configuration reloaded"
                    );
                    if reloaded.restart_required {
                        tracing::warn!("[server] or [embedded] changed: those settings apply after a restart");
                    }
                }
                Err(error) => tracing::error!(error = %error.message, "configuration not reloaded; nothing changed"),
            }
        }
    });
    #[cfg(not(unix))]
    drop(connections);
}

/// Logs what the config files hold that the backend does not know; it is ignored, not refused.
fn warn_about(config: &config::BackendConfig) {
    for warning in &config.warnings {
        tracing::warn!(%warning, "configuration");
    }
}
