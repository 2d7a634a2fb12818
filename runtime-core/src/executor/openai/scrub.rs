//! Scrubbing provider text before it reaches a transcript, an event or a log: the API key, its reference,
//! the base URL and the provider's host never leave the runtime, nor does any other URL or IP address a
//! provider's message may carry.
//!
//! Matching ignores ASCII case (hosts and schemes are case-insensitive) and also looks for the
//! percent-encoded forms of the address. It is one pass, so a placeholder is never matched again.

use secrets::{Secret, SecretRef};

/// Needles shorter than this are replaced only where they stand as a whole word: a short key or host name
/// can be an ordinary word, and replacing it inside others would mangle text and reveal where it is.
const MIN_SUBSTRING_NEEDLE: usize = 8;

/// Replacements for what must not leave the runtime, longest first so a URL goes before its host.
#[derive(Clone)]
pub(super) struct Scrubber {
    needles: Vec<Needle>,
}

#[derive(Clone)]
struct Needle {
    /// Lowercased.
    text: String,
    placeholder: &'static str,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} needles, <redacted>)", self.needles.len())
    }
}

impl Scrubber {
    /// What a profile's configuration reveals: its base URL, its host and the key reference.
    pub(super) fn for_provider(base_url: &str, key: Option<&SecretRef>) -> Self {
        let mut scrubber = Scrubber { needles: Vec::new() };
        let without_scheme = base_url.split_once("://").map_or(base_url, |(_, rest)| rest);
        for form in [base_url, without_scheme] {
            scrubber.add(form, "<provider url>");
            scrubber.add(&percent_encoded(form), "<provider url>");
        }
        if let Ok(url) = reqwest::Url::parse(base_url)
            && let Some(host) = url.host_str()
        {
            let host = host.trim_matches(['[', ']']);
            if let Some(port) = url.port_or_known_default() {
                let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
                scrubber.add(&percent_encoded(&authority), "<provider host>");
                scrubber.add(&authority, "<provider host>");
            }
            scrubber.add(host, "<provider host>");
        }
        if let Some(key) = key {
            for form in key.revealing_forms() {
                scrubber.add(&form, "<api key reference>");
            }
        }
        scrubber
    }

    /// The same scrubber, also hiding this turn's key.
    pub(super) fn with_key(&self, key: Option<&Secret>) -> Self {
        let mut scrubber = self.clone();
        if let Some(key) = key {
            scrubber.add(key.expose(), "<api key>");
        }
        scrubber
    }

    fn add(&mut self, text: &str, placeholder: &'static str) {
        let text = text.trim().to_ascii_lowercase();
        if text.is_empty() || self.needles.iter().any(|n| n.text == text) {
            return;
        }
        self.needles.push(Needle { text, placeholder });
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.text.len()));
    }

    /// `text` with every secret, URL and IP address replaced by a named placeholder.
    pub(super) fn text(&self, text: &str) -> String {
        let lower = text.to_ascii_lowercase();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        'scan: while at < text.len() {
            for needle in &self.needles {
                let end = at + needle.text.len();
                if lower[at..].starts_with(&needle.text)
                    && (needle.text.len() >= MIN_SUBSTRING_NEEDLE || is_word_at(text, at, end))
                {
                    out.push_str(needle.placeholder);
                    at = end;
                    continue 'scan;
                }
            }
            let c = text[at..].chars().next().expect("at is a char boundary");
            out.push(c);
            at += c.len_utf8();
        }
        out.split_inclusive(char::is_whitespace).map(scrub_word).collect()
    }
}

/// Whether `text[start..end]` is bounded by characters that cannot continue a name.
fn is_word_at(text: &str, start: usize, end: usize) -> bool {
    let continues = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_');
    !continues(text[..start].chars().next_back()) && !continues(text[end..].chars().next())
}

/// `:` and `/` percent-encoded, as a URL inside a query string shows them.
fn percent_encoded(text: &str) -> String {
    text.replace(':', "%3a").replace('/', "%2f")
}

/// A whitespace-delimited word (with its trailing space), with a URL or an IP address in it replaced.
fn scrub_word(word: &str) -> String {
    let core = word.trim_end();
    let tail = &word[core.len()..];
    if let Some(scheme_at) = url_start(core) {
        return format!("{}<url>{tail}", &core[..scheme_at]);
    }
    // `[v6]:port`: the address is what the brackets hold.
    if let Some((open, close)) = core.find('[').zip(core.find(']'))
        && open < close
        && looks_like_ipv6(&core[open + 1..close])
    {
        return format!("{}<address>{}", &core[..=open], &word[close..]);
    }
    let trimmed = core.trim_matches(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'));
    if looks_like_ipv4(trimmed) || looks_like_ipv6(trimmed) {
        return word.replacen(trimmed, "<address>", 1);
    }
    word.to_owned()
}

/// Where a `scheme://` begins inside `word` (after `url=`, a quote or a bracket, say).
fn url_start(word: &str) -> Option<usize> {
    let separator = word.find("://")?;
    let scheme_start = word[..separator]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
        .last()
        .map(|(i, _)| i)?;
    word[scheme_start..].starts_with(|c: char| c.is_ascii_alphabetic()).then_some(scheme_start)
}

/// `a.b.c.d` with an optional `:port`.
fn looks_like_ipv4(word: &str) -> bool {
    let address = word.rsplit_once(':').map_or(word, |(address, port)| {
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) { address } else { word }
    });
    let parts: Vec<_> = address.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Hex groups separated by colons, with `::` or at least six groups, so times (`12:30:45`) are not taken.
fn looks_like_ipv6(word: &str) -> bool {
    let groups: Vec<_> = word.split(':').collect();
    groups.len() >= 3
        && groups.iter().all(|g| g.len() <= 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        && (word.contains("::") || groups.len() >= 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_key(base: &str, key: &str) -> (Scrubber, tempfile::TempDir) {
        let reference = SecretRef::parse("env:CANARY_KEY_VAR").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), key).unwrap();
        let key = SecretRef::File(dir.path().join("key")).resolve().unwrap();
        (Scrubber::for_provider(base, Some(&reference)).with_key(Some(&key)), dir)
    }

    #[test]
    fn the_address_key_and_reference_are_replaced_by_placeholders() {
        let (scrubber, _dir) = with_key("http://gpu-box.internal:8000/v1", "sk-canary-key");
        let text = "upstream http://gpu-box.internal:8000/v1/chat failed at GPU-Box.Internal:8000 (gpu-box.internal) \
                    with env:CANARY_KEY_VAR, key sk-canary-key, api_base=http%3A%2F%2Fgpu-box.internal%3A8000%2Fv1";
        let out = scrubber.text(text);
        for hidden in ["gpu-box", "GPU-Box", "8000", "CANARY_KEY_VAR", "sk-canary", "%3A"] {
            assert!(!out.contains(hidden), "{hidden} in {out}");
        }
        assert!(out.contains("<provider host>") && out.contains("<api key reference>"), "{out}");
        assert!(out.contains("key <api key>"), "{out}");
    }

    #[test]
    fn other_urls_and_ip_addresses_are_replaced_wherever_they_start_but_words_are_kept() {
        let scrubber = Scrubber::for_provider("http://llm/v1", None);
        let out = scrubber.text(
            "llm-proxy could not reach https://10.0.0.7:9000/x or 10.0.0.8:80, api_base='http://other:1/v1' \
             [fd00::1]:8000 at 12:30:45, the llm said",
        );
        assert_eq!(
            out,
            "llm-proxy could not reach <url> or <address>, api_base='<url> [<address>]:8000 at 12:30:45, \
             the <provider host> said"
        );
    }

    #[test]
    fn short_secrets_are_replaced_only_as_words_and_placeholders_are_not_matched_again() {
        let (scrubber, _dir) = with_key("http://[fd00::2]:8080/v1", "EMPTY");
        let out = scrubber.text("key EMPTY is not EMPTYING at fd00::2 or [fd00::2]:8080");
        assert_eq!(out, "key <api key> is not EMPTYING at <provider host> or <provider host>");
        assert!(!format!("{scrubber:?}").contains("EMPTY"), "Debug shows no needle");
    }
}
