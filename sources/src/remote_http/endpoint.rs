//! A remote runtime's endpoint: its base URL, checked the same way wherever it is written (config file,
//! settings API, command line).

use url::Url;

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
    /// Longer than [`MAX_ENDPOINT_LEN`].
    #[error("endpoint must be at most {MAX_ENDPOINT_LEN} characters")]
    TooLong,
}

/// Longest endpoint accepted; a base URL is a scheme, a host and a port.
pub const MAX_ENDPOINT_LEN: usize = 512;

/// Parses a remote runtime's base URL: `http` or `https`, a host, optional port, nothing else.
pub fn parse_endpoint(s: &str) -> Result<Url, EndpointError> {
    if s.len() > MAX_ENDPOINT_LEN {
        return Err(EndpointError::TooLong);
    }
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
    if url.path() != "/" || !typed_path_is_empty(s) {
        return Err(EndpointError::Path);
    }
    Ok(url)
}

/// The endpoint in the one spelling the backend writes: its normalized URL without the trailing slash, so
/// `HTTP://Host:08790/` is stored as `http://host:8790`.
pub fn normalized_endpoint(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// Whether the path as typed is empty or `/`. The parser normalizes `/.`, `/%2e%2e/` and `\` away, which
/// would let a path the operator did not mean pass as a base URL.
fn typed_path_is_empty(s: &str) -> bool {
    let rest = s.split_once("://").map_or(s, |(_, rest)| rest);
    let path = rest.find(['/', '\\']).map_or("", |at| &rest[at..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    matches!(path, "" | "/") && !rest.chars().any(|c| c.is_control() || c.is_whitespace())
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
            ("http://h:1/.", EndpointError::Path),
            ("http://h:1/%2e%2e/", EndpointError::Path),
            ("http://h:1/a/..", EndpointError::Path),
            ("http://h:1\\.", EndpointError::Path),
            ("http://h:1/\t", EndpointError::Path),
        ];
        for (endpoint, expected) in cases {
            assert_eq!(parse_endpoint(endpoint), Err(expected), "{endpoint}");
        }
        assert!(matches!(parse_endpoint("not a url"), Err(EndpointError::NotAUrl(_))));
        let long_port = format!("http://h:{}1", "0".repeat(10_000));
        assert_eq!(parse_endpoint(&long_port), Err(EndpointError::TooLong));
    }

    #[test]
    fn an_endpoint_is_written_in_one_spelling() {
        for typed in ["HTTP://Runtime.Example:08790/", "http://runtime.example:8790"] {
            assert_eq!(normalized_endpoint(&parse_endpoint(typed).unwrap()), "http://runtime.example:8790", "{typed}");
        }
    }
}
