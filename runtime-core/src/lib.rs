//! The worker runtime library: workers and their state machine, turns and executors, profiles, the event
//! log and stores.
//!
//! Worker semantics (SPEC §3) live here and nowhere else; servers and sources translate to and from these
//! calls. The library has no HTTP dependency.

mod events;
pub mod executor;
mod ids;
pub mod profile;
mod runtime;
pub mod store;
mod turn;
mod worker;

pub use executor::{Executor, ExecutorError, Message, TurnContext, TurnOutput};
pub use profile::{Profile, ProfileError, ProfileSet};
pub use runtime::{Runtime, RuntimeConfig, StartError};
pub use store::{MemoryStore, Store};
