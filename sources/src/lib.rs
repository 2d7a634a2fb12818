//! Implementations of [`runtime_api::RuntimeSource`]: every way the backend can reach a runtime.

pub mod embedded;
pub mod local_compat;

pub use embedded::EmbeddedSource;
pub use local_compat::LocalCompatSource;
