//! axum glue for the runtime contract, shared by the runtime process and the backend so both speak the
//! same HTTP: one JSON error shape, extractors whose rejections use it, and one way to put an event stream
//! on a WebSocket.

mod error;
pub mod events;
mod log_caps;
mod shutdown;

pub use error::{ApiJson, ApiPath, ApiQuery, ApiResult, HttpError, OptionalJson};
pub use log_caps::LIBRARY_LOG_CAPS;
pub use shutdown::shutdown_signal;
