//! Shared test machinery: the [`contract`] suite that every `RuntimeSource` must pass.

pub mod contract;
