//! Keys the configuration does not know: warned about (file, line, key, a "did you mean" for near-misses) and
//! otherwise ignored, like cargo's "unused manifest key", so a file shared with other tools or written for a
//! newer backend still loads. The settings API's edits keep them.

use super::origin::FieldPath;

/// The keys a table of the file format takes, by where the table sits; `None` for a table whose keys are
/// not checked (none today).
fn known_keys(table: &FieldPath) -> Option<&'static [&'static str]> {
    let path = table.to_string();
    match path.as_str() {
        "" => Some(&["server", "embedded", "runtimes"]),
        "server" => Some(&[
            "bind",
            "allowed_hosts",
            "allowed_origins",
            "access_token_ref",
            "auth",
            "request_timeout_secs",
            "body_limit_bytes",
            "max_event_streams",
            "max_event_streams_per_client",
            "request_head_timeout_secs",
            "request_body_timeout_secs",
            "max_connections",
        ]),
        "embedded" => Some(&["store", "data_dir", "profiles_file", "idle_timeout_secs"]),
        "runtimes" => Some(sources::spec::TABLES),
        entry => {
            // `runtimes.<table>[n]`: each kind of source knows its own keys.
            let table = entry.strip_prefix("runtimes.")?.split('[').next()?;
            sources::spec::fields(table)
        }
    }
}

/// The warning for `path`, a key serde ignored: names the key, and the known key it most likely meant.
pub(super) fn message(path: &FieldPath) -> String {
    let (table, key) = path.split_last();
    let guess = key.as_deref().and_then(|key| {
        known_keys(&table)?.iter().copied().filter(|known| near(key, known)).min_by_key(|known| distance(key, known))
    });
    match (key, guess) {
        (Some(key), Some(guess)) => format!("unknown key `{key}`, ignored; did you mean `{guess}`?"),
        (Some(key), None) => format!("unknown key `{key}`, ignored"),
        (None, _) => "unknown value, ignored".to_owned(),
    }
}

/// Close enough to be a typo: at most two edits apart, and fewer than half the key.
fn near(key: &str, known: &str) -> bool {
    let edits = distance(key, known);
    edits <= 2 && edits * 2 < key.chars().count().max(known.chars().count())
}

/// The Levenshtein distance between `a` and `b`, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_get_a_suggestion_and_strangers_do_not() {
        let at = FieldPath::root().key("runtimes").key("remote").index(0);
        assert_eq!(message(&at.key("endpont")), "unknown key `endpont`, ignored; did you mean `endpoint`?");
        assert_eq!(message(&at.key("tokenref")), "unknown key `tokenref`, ignored; did you mean `token_ref`?");
        assert_eq!(message(&at.key("colour")), "unknown key `colour`, ignored");
        let server = FieldPath::root().key("server");
        assert_eq!(message(&server.key("bnd")), "unknown key `bnd`, ignored; did you mean `bind`?");
        assert_eq!(message(&FieldPath::root().key("custom_section")), "unknown key `custom_section`, ignored");
        assert_eq!(
            message(&FieldPath::root().key("runtime")),
            "unknown key `runtime`, ignored; did you mean `runtimes`?"
        );
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!((distance("", "abc"), distance("abc", "abc"), distance("kitten", "sitting")), (3, 0, 3));
    }
}
