//! Implementations of [`runtime_api::RuntimeSource`]: every way the backend can reach a runtime.

pub mod embedded;
pub mod local_compat;
pub mod remote_http;
pub mod spec;

pub use embedded::EmbeddedSource;
pub use local_compat::LocalCompatSource;
pub use remote_http::{RemoteHttpSource, RemoteOptions};
pub use spec::SourceSpec;
