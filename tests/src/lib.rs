//! Shared test machinery: the [`contract`] suite that every `RuntimeSource` must pass, and [`doubles`] that
//! stand in for executors and stores behind their real traits.

pub mod contract;
pub mod doubles;
pub mod harness;
