//! Shared test machinery: the [`contract`] suite that every `RuntimeSource` must pass, [`doubles`] that
//! stand in for executors and stores behind their real traits, a [`browser`] client of the backend's API,
//! a scripted OpenAI-compatible [`model_server`], and [`harness`] helpers to build and serve sources.

pub mod browser;
pub mod contract;
pub mod doubles;
pub mod fault_proxy;
pub mod harness;
pub mod mock;
pub mod model_server;
