//! Implementations of [`runtime_api::RuntimeSource`]: every way the backend can reach a runtime.

pub mod embedded;
pub mod local_compat;
pub mod remote_http;

/// Secret references, shared with the runtime library so both read `env:` and `file:` the same way.
pub use runtime_core::secret;

pub use embedded::EmbeddedSource;
pub use local_compat::LocalCompatSource;
pub use remote_http::{RemoteHttpSource, RemoteOptions};
