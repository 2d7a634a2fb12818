//! Sanitization: registered secrets and internal locations never leave the stack.
//!
//! Runs around error mapping, so typed error messages are scrubbed, and inside diagnostics, so what
//! diagnostics keep and show is already clean. Two strengths apply:
//! - everywhere, every registered secret (a remote's endpoint, token, token reference, a data directory) is
//!   replaced by a named placeholder such as `<endpoint of remote-dev>`, so messages stay useful;
//! - in text a runtime wrote about itself (error messages, failure notices, close reasons) URLs and path-like
//!   words are also replaced (`<url>`, `<path>`), since a source may not know what it leaks.
//!
//! User content (inputs, replies, titles) gets only the first: a user may well talk about `/etc/hosts`.

mod engine;
mod wire;

use runtime_api::ApiError;

pub use engine::{Sanitizer, SecretKind};
pub use wire::Sanitize;

use super::SourceResponse;

/// Scrubs what a call gives back, answer or error, before it leaves the stack.
pub(super) fn scrub(
    result: Result<SourceResponse, ApiError>,
    sanitizer: &Sanitizer,
) -> Result<SourceResponse, ApiError> {
    match result {
        Ok(mut response) => {
            wire::settle(&mut response, sanitizer)?;
            response.sanitize(sanitizer);
            Ok(response)
        }
        Err(mut error) => {
            error.sanitize(sanitizer);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests;
