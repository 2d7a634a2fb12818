//! The scrubbing engine: registered secrets replaced by named placeholders, and, in text a runtime wrote about
//! itself, URLs and path-like words too.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use runtime_api::{RuntimeId, VerbatimDetail};
use sources::spec::Confidential;

/// What kind of secret a registered string is; it names the placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A remote runtime's address.
    Endpoint,
    /// A credential.
    Token,
    /// Where a credential is read from (`env:NAME`, `file:PATH`).
    TokenRef,
    /// A file or directory on the backend's host.
    Path,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::Endpoint => "endpoint",
            SecretKind::Token => "token",
            SecretKind::TokenRef => "token reference",
            SecretKind::Path => "path",
        }
    }
}

/// The secrets of one source and the rules for scrubbing them.
#[derive(Debug, Clone, Default)]
pub struct Sanitizer {
    /// Longest first, so a secret is replaced before any part of it.
    secrets: Vec<Secret>,
    /// Finds any of the secrets in one pass over bytes; built on first use, after every secret is registered.
    finder: OnceLock<Option<AhoCorasick>>,
}

#[derive(Debug, Clone)]
struct Secret {
    text: String,
    placeholder: String,
    /// Replace only where the secret is a whole word: a host `10.9.8.7` must not eat part of `10.9.8.70`.
    /// Tokens are replaced wherever they appear, inside a word or not.
    whole_word: bool,
}

impl Sanitizer {
    /// Whether any secret is registered (with none, only the location heuristics apply).
    pub(super) fn has_secrets(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// A sanitizer that knows no secrets (URL and path scrubbing of runtime text still applies).
    pub fn new() -> Self {
        Sanitizer::default()
    }

    /// Registers a secret owned by `owner`. Values shorter than 4 characters are not registered: they would
    /// scrub ordinary words, and no credential that short is accepted anywhere.
    pub fn secret(self, kind: SecretKind, owner: &RuntimeId, value: &str) -> Self {
        self.register(kind, owner, value, false)
    }

    /// Registers an endpoint in the forms it tends to appear in: as a URL (without its trailing slash, so a
    /// path after it stays readable), as `host:port`, and as the bare host.
    pub fn endpoint(mut self, owner: &RuntimeId, url: &url::Url) -> Self {
        self = self.register(SecretKind::Endpoint, owner, url.as_str().trim_end_matches('/'), true);
        if let Some(host) = url.host_str() {
            if let Some(port) = url.port_or_known_default() {
                self = self.register(SecretKind::Endpoint, owner, &format!("{host}:{port}"), true);
            }
            self = self.register(SecretKind::Endpoint, owner, host, true);
        }
        self
    }

    /// Registers everything a source's spec says its answers must never show.
    pub fn confidential(self, owner: &RuntimeId, items: &[Confidential]) -> Self {
        items.iter().fold(self, |sanitizer, item| match item {
            Confidential::Endpoint(url) => sanitizer.endpoint(owner, url),
            Confidential::Token(token) => sanitizer.secret(SecretKind::Token, owner, token),
            Confidential::TokenRef(reference) => sanitizer.secret(SecretKind::TokenRef, owner, reference),
            Confidential::Path(path) => sanitizer.secret(SecretKind::Path, owner, path),
        })
    }

    fn register(mut self, kind: SecretKind, owner: &RuntimeId, value: &str, whole_word: bool) -> Self {
        if value.chars().count() >= 4 && !self.secrets.iter().any(|s| s.text == value) {
            let placeholder = format!("<{} of {owner}>", kind.label());
            self.secrets.push(Secret { text: value.to_owned(), placeholder, whole_word });
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.text.len()));
            self.finder = OnceLock::new();
        }
        self
    }

    /// Whether scrubbing would leave a remote's verbatim detail as it is: none of the secrets anywhere in its
    /// bytes (whole word or not), and its end reason, text the runtime wrote about itself, free of anything
    /// location-like. Its strings are their own bytes and hold no invisible characters ([`VerbatimDetail`]).
    pub fn leaves_unchanged(&self, detail: &VerbatimDetail) -> bool {
        let finder = self.finder.get_or_init(|| {
            // A secret holding a shorter one (an endpoint's URL holds its host) cannot occur where the shorter
            // one does not, so only the shortest are searched: fewer, rarer patterns let the search skip ahead.
            let texts = || self.secrets.iter().map(|s| s.text.as_str());
            let patterns =
                texts().filter(|&text| !texts().any(|other| other.len() < text.len() && text.contains(other)));
            // A secret set too large for the automaton is simply never forwarded unchecked.
            (!self.secrets.is_empty()).then(|| AhoCorasick::new(patterns).ok()).flatten()
        });
        let clean = match finder {
            Some(finder) => finder.find(detail.bytes()).is_none(),
            None => self.secrets.is_empty(),
        };
        clean && detail.end_reason().is_none_or(|reason| !reason.contains('/'))
    }

    /// Scrubs registered secrets from any text. Characters that render as nothing go first: a remote that
    /// hides one inside a token it echoes would otherwise get the token past the match and onto the page.
    pub fn text(&self, text: &mut String) {
        if text.chars().any(invisible) {
            text.retain(|c| !invisible(c));
        }
        for secret in &self.secrets {
            if text.contains(secret.text.as_str()) {
                *text = if secret.whole_word {
                    replace_words(text, &secret.text, &secret.placeholder)
                } else {
                    text.replace(secret.text.as_str(), &secret.placeholder)
                };
            }
        }
    }

    /// Scrubs registered secrets, URLs and path-like words from text a runtime wrote about itself.
    pub fn diagnostic(&self, text: &mut String) {
        self.text(text);
        if text.contains('/') || text.contains('\\') {
            *text = scrub_locations(text);
        }
    }
}

/// Whether `c` shows as nothing: control characters other than line breaks and tabs, and the zero-width
/// and soft-hyphen format characters.
fn invisible(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Replaces the occurrences of `needle` that are not part of a longer name or number.
fn replace_words(text: &str, needle: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // The character of the original text just before `rest`.
    let mut previous: Option<char> = None;
    while let Some(at) = rest.find(needle) {
        let (head, tail) = rest.split_at(at);
        let after = &tail[needle.len()..];
        let before = head.chars().last().or(previous);
        let whole = !joins_before(before) && !continues(after);
        out.push_str(head);
        out.push_str(if whole { placeholder } else { needle });
        previous = needle.chars().last();
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether `c` makes what follows it part of a longer name (`x.rt.example`, `host-2`, `a10.9.8.7`).
fn joins_before(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether `after` continues the name or number just matched (`10.9.8.70`, `10.9.8.7.5`, `host-2`).
fn continues(after: &str) -> bool {
    let mut chars = after.chars();
    match chars.next() {
        Some(c) if c.is_alphanumeric() || c == '_' => true,
        Some('.' | '-') => chars.next().is_some_and(char::is_alphanumeric),
        _ => false,
    }
}

/// Replaces URLs with `<url>` and path-like words with `<path>`, keeping everything else.
fn scrub_locations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let word_start = rest.find(|c: char| !c.is_whitespace()).unwrap_or(rest.len());
        out.push_str(&rest[..word_start]);
        rest = &rest[word_start..];
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..word_end];
        // Keep quotes and brackets around a location, and trailing punctuation.
        let inner = word.trim_start_matches(['(', '[', '"', '\'', '`', '<']);
        let lead = &word[..word.len() - inner.len()];
        let core = inner.trim_end_matches([')', ']', '"', '\'', '`', '>', ',', ';', ':', '.']);
        let trail = &inner[core.len()..];
        match classify(core) {
            Some(placeholder) => {
                out.push_str(lead);
                out.push_str(placeholder);
                out.push_str(trail);
            }
            None => out.push_str(word),
        }
        rest = &rest[word_end..];
    }
    out
}

fn classify(word: &str) -> Option<&'static str> {
    if let Some((scheme, tail)) = word.split_once("://")
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+')
        && !tail.is_empty()
    {
        return Some("<url>");
    }
    let slashes = word.matches('/').count();
    // Two slashes make a location: `/var/lib/x`, or the tail of one cut by a space (`Doe/ws/data`). Fewer
    // do when the word starts like a path: `~/x`, `./x`, `../x`, `.yoi/profiles.toml`.
    let unix = slashes >= 2 || word.starts_with("~/") || (word.starts_with('.') && slashes >= 1);
    let windows =
        word.len() > 3 && word.as_bytes()[1] == b':' && word.as_bytes()[2] == b'\\' || word.starts_with("\\\\");
    (unix || windows).then_some("<path>")
}
