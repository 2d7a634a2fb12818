//! axum glue for the runtime contract, shared by the runtime process and the backend so both speak the
//! same HTTP: one JSON error shape, JSON answers, extractors whose rejections use it, the answers for unknown routes, one
//! way to put an event stream on a WebSocket, the limits every request meets, the serving loop with its
//! connection limits, and the binaries' common edges (logging, start-up failure).

pub mod binary;
mod caps;
mod error;
pub mod events;
mod fallback;
mod json;
mod limits;
pub mod serve;
mod shutdown;

pub use caps::{StreamCaps, StreamPermit};
pub use error::{ApiJson, ApiPath, ApiQuery, ApiResult, HttpError, IdempotencyHeader, OptionalJson};
pub use fallback::{method_not_allowed, unknown_route};
pub use json::{Json, JsonBytes};
pub use limits::{RequestLimits, RequestLimitsLayer};
pub use serve::{ServeLimits, serve};
pub use shutdown::shutdown_signal;
