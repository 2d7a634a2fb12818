//! The worker runtime library: workers and their state machine, turns and executors, profiles, the event
//! log and stores.
//!
//! Worker semantics (SPEC §3) live here and nowhere else; servers and sources translate to and from these
//! calls. Without the `http-server` feature the library has no HTTP dependency; with it, `server` serves a
//! runtime over SPEC §4's REST and WebSocket API.

mod events;
pub mod executor;
mod idempotency;
mod ids;
pub mod profile;
mod runtime;
#[cfg(feature = "http-server")]
pub mod server;
pub mod store;
mod turn;
pub mod view;
mod worker;

pub use executor::{Executor, ExecutorError, Message, ReplyFacts, TurnContext, TurnOutput};
pub use profile::{HistoryBounds, Profile, ProfileError, ProfileSet};
pub use runtime::{Runtime, RuntimeConfig, StartError};
pub use store::{MemoryStore, Store};
pub use view::StoredView;
