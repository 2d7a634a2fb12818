//! Checks for single values (display names, hosts, origins), shared by the loader and the settings API.

use url::{Host, Url};

/// Longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Why a display name is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    /// Empty or only whitespace.
    #[error("display name must not be blank")]
    Blank,
    /// Longer than [`MAX_DISPLAY_NAME_CHARS`].
    #[error("display name must be at most {MAX_DISPLAY_NAME_CHARS} characters")]
    TooLong,
    /// Contains a control character such as a newline.
    #[error("display name must not contain control characters")]
    ControlCharacter,
}

/// Checks a display name: 1 to [`MAX_DISPLAY_NAME_CHARS`] characters, not blank, no control characters.
pub fn check_display_name(s: &str) -> Result<(), DisplayNameError> {
    if s.trim().is_empty() {
        return Err(DisplayNameError::Blank);
    }
    if s.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(DisplayNameError::TooLong);
    }
    if s.chars().any(char::is_control) {
        return Err(DisplayNameError::ControlCharacter);
    }
    Ok(())
}

/// Parses a host name for the `Host` check (a domain, IPv4 address or bracketed IPv6 address, no port), normalized.
pub(super) fn parse_allowed_host(s: &str) -> Result<String, &'static str> {
    if s.is_empty() {
        return Err("host must not be empty");
    }
    if s.contains(':') && !s.starts_with('[') {
        return Err("host must not contain a port or scheme");
    }
    Host::parse(s).map(|host| host.to_string()).map_err(|_| "host is not a valid domain or ip address")
}

/// Parses an origin (`http(s)://host[:port]`, no path, query or fragment) into its ASCII serialization.
pub(super) fn parse_allowed_origin(s: &str) -> Result<String, &'static str> {
    let url = Url::parse(s).map_err(|_| "origin is not a valid url such as https://ui.example")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("origin scheme must be http or https");
    }
    if url.host().is_none() {
        return Err("origin must have a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("origin must not contain user info");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("origin must not contain a path, query or fragment");
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_is_bounded_and_printable() {
        assert!(check_display_name("Example Runtime").is_ok());
        assert!(check_display_name(&"é".repeat(MAX_DISPLAY_NAME_CHARS)).is_ok());
        assert_eq!(check_display_name(&"x".repeat(MAX_DISPLAY_NAME_CHARS + 1)), Err(DisplayNameError::TooLong));
        assert_eq!(check_display_name(" "), Err(DisplayNameError::Blank));
        assert_eq!(check_display_name("a\nb"), Err(DisplayNameError::ControlCharacter));
    }

    #[test]
    fn allowed_hosts_and_origins_are_normalized() {
        assert_eq!(parse_allowed_host("Backend.Example").unwrap(), "backend.example");
        assert_eq!(parse_allowed_host("[::1]").unwrap(), "[::1]");
        assert!(parse_allowed_host("backend.example:80").is_err());
        assert!(parse_allowed_host("").is_err());
        assert_eq!(parse_allowed_origin("https://UI.example:443").unwrap(), "https://ui.example");
        assert_eq!(parse_allowed_origin("http://ui.example:8080").unwrap(), "http://ui.example:8080");
        assert!(parse_allowed_origin("https://ui.example/app").is_err());
        assert!(parse_allowed_origin("file:///x").is_err());
        assert!(parse_allowed_origin("ui.example").is_err());
    }
}
