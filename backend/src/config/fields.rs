//! Checks for single values (endpoints, display names, hosts, origins), shared by the loader and the settings API.

use url::{Host, Url};

/// Longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Why a remote runtime endpoint is rejected; messages never repeat the endpoint, which may hold credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL at all.
    #[error("endpoint is not a valid url: {0}")]
    NotAUrl(url::ParseError),
    /// A scheme other than `http` or `https`.
    #[error("endpoint scheme must be http or https")]
    Scheme,
    /// No host.
    #[error("endpoint must have a host")]
    MissingHost,
    /// `user:password@` in the URL; tokens belong in `token_ref`.
    #[error("endpoint must not contain user info")]
    UserInfo,
    /// A `?query`.
    #[error("endpoint must not contain a query")]
    Query,
    /// A `#fragment`.
    #[error("endpoint must not contain a fragment")]
    Fragment,
    /// A path: the endpoint is the base URL and the runtime API lives at its `/v1`.
    #[error("endpoint must not contain a path (the runtime api is found at /v1 of the endpoint)")]
    Path,
}

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

/// Parses a remote runtime's base URL: `http` or `https`, a host, optional port, nothing else.
pub fn parse_endpoint(s: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(s).map_err(|err| match err {
        url::ParseError::EmptyHost => EndpointError::MissingHost,
        other => EndpointError::NotAUrl(other),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EndpointError::Scheme);
    }
    if url.host().is_none() {
        return Err(EndpointError::MissingHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::UserInfo);
    }
    if url.query().is_some() {
        return Err(EndpointError::Query);
    }
    if url.fragment().is_some() {
        return Err(EndpointError::Fragment);
    }
    if url.path() != "/" {
        return Err(EndpointError::Path);
    }
    Ok(url)
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
    fn endpoint_accepts_http_and_https_base_urls() {
        assert_eq!(parse_endpoint("http://127.0.0.1:8790").unwrap().as_str(), "http://127.0.0.1:8790/");
        assert!(parse_endpoint("https://runtime.example/").is_ok());
        assert!(parse_endpoint("http://[::1]:8790").is_ok());
    }

    #[test]
    fn endpoint_rejects_everything_but_a_base_url() {
        let cases = [
            ("http://user:pw@h:1", EndpointError::UserInfo),
            ("http://user@h:1", EndpointError::UserInfo),
            ("http://h:1/?a=1", EndpointError::Query),
            ("http://h:1/?", EndpointError::Query),
            ("http://h:1/#x", EndpointError::Fragment),
            ("http://h:1/v1", EndpointError::Path),
            ("ftp://h:1", EndpointError::Scheme),
            ("ws://h:1", EndpointError::Scheme),
            ("unix:/run/x.sock", EndpointError::Scheme),
            ("http://", EndpointError::MissingHost),
        ];
        for (endpoint, expected) in cases {
            assert_eq!(parse_endpoint(endpoint), Err(expected), "{endpoint}");
        }
        assert!(matches!(parse_endpoint("not a url"), Err(EndpointError::NotAUrl(_))));
    }

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
