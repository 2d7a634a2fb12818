//! What both binaries do the same way at their edges: run the async main, print a start-up failure, and set
//! up logging.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

/// Runs `main` on a multi-threaded tokio runtime. A failure is printed to standard error as
/// `name: message chain` (the alternate form, which `anyhow` prints with every cause), without a backtrace.
pub fn run<E: Display>(name: &str, main: impl Future<Output = Result<(), E>>) -> ExitCode {
    let outcome = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(main).map_err(|error| format!("{error:#}")),
        Err(error) => Err(format!("cannot start the async runtime: {error}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{name}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why `--log` was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid --log filter: {0}")]
pub struct LogFilterError(String);

/// Logs to standard error with the operator's `tracing` filter (`--log`), colours only on a terminal, and
/// [`LIBRARY_LOG_CAPS`] added after the operator's directives so no library names an address.
pub fn init_logging(directives: &str) -> Result<(), LogFilterError> {
    let mut filter = EnvFilter::try_new(directives).map_err(|e| LogFilterError(e.to_string()))?;
    for cap in LIBRARY_LOG_CAPS {
        filter = filter.add_directive(cap.parse().expect("the caps are valid directives"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    Ok(())
}

/// Log levels the binaries never go beyond for the libraries that talk to other hosts: hyper-util's
/// connector logs `connecting to <address>` at debug, and TLS and WebSocket libraries name hosts at debug and
/// trace. A remote runtime's or a model provider's address must not reach a log line (SPEC §10), whatever
/// `--log` asks for; for the same target the later directive wins.
pub const LIBRARY_LOG_CAPS: &[&str] = &[
    "hyper_util=info",
    "hyper=info",
    "reqwest=info",
    "rustls=info",
    "tungstenite=info",
    "tokio_tungstenite=info",
    "h2=info",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caps_parse_and_a_bad_filter_is_refused() {
        for cap in LIBRARY_LOG_CAPS {
            assert!(cap.parse::<tracing_subscriber::filter::Directive>().is_ok(), "{cap}");
        }
        assert!(EnvFilter::try_new("info,=nonsense=").is_err());
    }
}
