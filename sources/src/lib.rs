//! Implementations of [`runtime_api::RuntimeSource`]: every way the backend can reach a runtime.

pub mod embedded;

pub use embedded::EmbeddedSource;
