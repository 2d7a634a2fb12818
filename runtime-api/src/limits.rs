//! Bounds on every client-supplied value, checked by the runtime and by servers before any work is done.

use crate::error::ApiError;

/// Largest input `content`, in bytes.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Longest worker title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest stop or cancel reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Longest profile name, in characters.
pub const MAX_PROFILE_NAME_CHARS: usize = 64;
/// Most metadata entries on one worker.
pub const MAX_METADATA_ENTRIES: usize = 32;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY_CHARS: usize = 64;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE_CHARS: usize = 1024;
/// Page size used when a request names none.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// Largest page size served; larger requests are clamped to it.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// The page size actually served for a requested one: at least 1, at most [`MAX_PAGE_LIMIT`].
pub fn effective_limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_PAGE_LIMIT).clamp(1, MAX_PAGE_LIMIT)
}

/// Checks that a free-text field is within `max` characters and holds no control characters
/// other than newline and tab (`multiline`) or none at all.
pub(crate) fn check_text(field: &str, value: &str, max: usize, multiline: bool) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!("{field} must be at most {max} characters")));
    }
    let bad = |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r'));
    if value.chars().any(bad) {
        return Err(ApiError::invalid(format!("{field} must not contain control characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_not_rejected() {
        assert_eq!(effective_limit(None), DEFAULT_PAGE_LIMIT);
        assert_eq!(effective_limit(Some(0)), 1);
        assert_eq!(effective_limit(Some(7)), 7);
        assert_eq!(effective_limit(Some(u32::MAX)), MAX_PAGE_LIMIT);
    }

    #[test]
    fn text_checks_name_the_field() {
        assert!(check_text("title", "ok", 5, false).is_ok());
        let long = check_text("title", "toolong", 5, false).unwrap_err();
        assert_eq!(long.message, "title must be at most 5 characters");
        assert!(check_text("title", "a\nb", 5, false).is_err());
        assert!(check_text("content", "a\nb", 5, true).is_ok());
        assert!(check_text("content", "a\u{7}b", 5, true).is_err());
    }
}
