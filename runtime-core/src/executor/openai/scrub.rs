//! Scrubbing provider text before it reaches a transcript, an event or a log: the API key, its reference,
//! the base URL and the provider's host never leave the runtime, nor does any other URL or IPv4 address a
//! provider's message may carry.

use crate::secret::{Secret, SecretRef};

/// Replacements for what must not leave the runtime, longest first so a URL goes before its host.
#[derive(Debug, Clone)]
pub(super) struct Scrubber {
    needles: Vec<(String, &'static str)>,
    /// Replaced only where it stands as a whole word, since a short host name can be an ordinary word.
    host: Option<String>,
}

impl Scrubber {
    /// What a profile's configuration reveals: its base URL and key reference.
    pub(super) fn for_provider(base_url: &str, key: Option<&SecretRef>) -> Self {
        let mut needles = vec![(base_url.to_owned(), "<provider url>")];
        let without_scheme = base_url.split_once("://").map_or(base_url, |(_, rest)| rest);
        let authority = without_scheme.split('/').next().unwrap_or_default();
        needles.push((without_scheme.to_owned(), "<provider url>"));
        let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host).trim_matches(['[', ']']);
        if authority != host {
            // `host:port` cannot be an ordinary word; a bare host is matched as a word below.
            needles.push((authority.to_owned(), "<provider host>"));
        }
        if let Some(key) = key {
            needles.extend(key.revealing_forms().into_iter().map(|form| (form, "<api key reference>")));
        }
        let mut scrubber = Scrubber { needles, host: (!host.is_empty()).then(|| host.to_owned()) };
        scrubber.sort();
        scrubber
    }

    /// The same scrubber, also hiding this turn's key.
    pub(super) fn with_key(&self, key: Option<&Secret>) -> Self {
        let mut scrubber = self.clone();
        if let Some(key) = key {
            scrubber.needles.push((key.expose().to_owned(), "<api key>"));
            scrubber.sort();
        }
        scrubber
    }

    fn sort(&mut self) {
        self.needles.retain(|(needle, _)| !needle.is_empty());
        self.needles.sort_by_key(|(needle, _)| std::cmp::Reverse(needle.len()));
    }

    /// `text` with every secret, URL and IPv4 address replaced by a named placeholder.
    pub(super) fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (needle, placeholder) in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), placeholder);
            }
        }
        if let Some(host) = &self.host {
            out = replace_word(&out, host, "<provider host>");
        }
        out.split_inclusive(char::is_whitespace).map(scrub_word).collect()
    }
}

/// A whitespace-delimited word (with its trailing space), with a URL or an IPv4 address in it replaced.
fn scrub_word(word: &str) -> String {
    let core = word.trim_end();
    let tail = &word[core.len()..];
    let (lead, body) = core.split_at(core.find(|c: char| c.is_ascii_alphanumeric()).unwrap_or(core.len()));
    if let Some(at) = body.find("://")
        && at > 0
        && body[..at].chars().all(|c| c.is_ascii_alphanumeric() || c == '+')
    {
        return format!("{lead}<url>{tail}");
    }
    let trimmed = core.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if looks_like_ipv4(trimmed) {
        return word.replace(trimmed, "<address>");
    }
    word.to_owned()
}

/// `a.b.c.d` with an optional `:port`.
fn looks_like_ipv4(word: &str) -> bool {
    let address = word
        .rsplit_once(':')
        .map_or(word, |(address, port)| if port.bytes().all(|b| b.is_ascii_digit()) { address } else { word });
    let parts: Vec<_> = address.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Replaces `word` where neither neighbour continues a host name.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let continues = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = if at > 0 { rest[..at].chars().next_back() } else { out.chars().next_back() };
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if continues(before) || continues(after) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_key_and_reference_are_replaced_by_placeholders() {
        let reference = SecretRef::parse("env:CANARY_KEY_VAR").unwrap();
        let base = Scrubber::for_provider("http://gpu-box.internal:8000/v1", Some(&reference));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "sk-canary-key\n").unwrap();
        let key = SecretRef::File(dir.path().join("key")).resolve().unwrap();
        let scrubber = base.with_key(Some(&key));
        let text = "upstream http://gpu-box.internal:8000/v1/chat failed at gpu-box.internal:8000 (gpu-box.internal) \
                    with env:CANARY_KEY_VAR, key sk-canary-key";
        let out = scrubber.text(text);
        for hidden in ["gpu-box", "8000", "CANARY_KEY_VAR", "sk-canary"] {
            assert!(!out.contains(hidden), "{hidden} in {out}");
        }
        assert!(out.contains("<provider host>") && out.contains("<api key reference>"), "{out}");
        assert!(out.contains("key <api key>"), "{out}");
    }

    #[test]
    fn other_urls_and_ipv4_addresses_are_replaced_but_words_are_kept() {
        let scrubber = Scrubber::for_provider("http://llm/v1", None);
        let out = scrubber.text("llm-proxy could not reach https://10.0.0.7:9000/x or 10.0.0.8:80, the llm said");
        assert_eq!(out, "llm-proxy could not reach <url> or <address>, the <provider host> said");
    }
}
