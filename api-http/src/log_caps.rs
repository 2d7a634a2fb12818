//! Log levels the binaries never go beyond for the libraries that talk to other hosts.
//!
//! hyper-util's connector logs `connecting to <address>` at debug, and TLS and WebSocket libraries name
//! hosts at debug and trace. A remote runtime's or a model provider's address must not reach a log line
//! (SPEC §10), whatever `--log` asks for, so both binaries add these directives after the operator's own
//! filter: for the same target the later one wins.

/// `target=level` directives, in `tracing` env-filter syntax.
pub const LIBRARY_LOG_CAPS: &[&str] = &[
    "hyper_util=info",
    "hyper=info",
    "reqwest=info",
    "rustls=info",
    "tungstenite=info",
    "tokio_tungstenite=info",
    "h2=info",
];
