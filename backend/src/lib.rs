//! The Workspace Backend: a registry of runtime sources behind one safe Browser API.
//!
//! Data flows one way — HTTP layer → registry → source stack → source — and errors and events come back
//! the same way. The backend sees every source as `Arc<dyn RuntimeSource>`; it never names a runtime-core
//! type.

pub mod access;
pub mod api;
pub mod cli;
pub mod config;
pub mod connections;
pub mod health;
pub mod metrics;
pub mod registry;
pub mod server;
pub mod stack;
#[cfg(test)]
mod testing;

pub use server::{Backend, BackendBuilder, BackendError};
