//! Reads one configuration file, checks it on its own and records the line of every value it sets.

use std::io;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, Deserializer};

use super::origin::{FieldPath, Kind, LayerIndex, Order};
use super::raw::RawConfig;
use super::unknown;
use super::{ConfigError, Location, Problem};

/// A configuration file that passed the checks of its own.
pub(super) struct FileLayer {
    /// The file's values, for figment.
    pub(super) table: toml::Table,
    /// Where the file sets each value.
    pub(super) index: LayerIndex,
    /// Keys the format does not know, each a warning naming its line.
    pub(super) warnings: Vec<Problem>,
}

/// The file's text, or `None` when there is no such file.
pub(super) fn read(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read { path: path.to_owned(), source }),
    }
}

/// Parses `text` (the contents of `path`) and checks it against the file format.
///
/// Serde stops at the first problem, so a file reports at most one problem here; the checks that collect every
/// problem run on the merged configuration.
pub(super) fn parse(path: &Path, text: &str, order: Order) -> Result<FileLayer, Problem> {
    let at = |span: Option<Range<usize>>, field: Option<FieldPath>, message: &str| Problem {
        location: Location::File { path: path.to_owned(), line: span.map(|span| line_of(text, span.start)) },
        field: field.map(|field| field.to_string()),
        message: message.to_owned(),
    };
    let document = DeTable::parse(text).map_err(|err| at(err.span(), None, err.message()))?;
    let mut walk = Walk { path, text, index: LayerIndex::new(order), spans: Vec::new() };
    walk.table(document.get_ref(), &FieldPath::root());
    let mut unknown = Vec::new();
    let checked: Result<RawConfig, _> =
        serde_ignored::deserialize(Deserializer::from(document.clone()), |path| unknown.push(field_path(&path)));
    if let Err(err) = checked {
        let field = err.span().and_then(|span| walk.field_at(span.start));
        return Err(at(err.span(), field, err.message()));
    }
    let mut warnings: Vec<Problem> = unknown
        .into_iter()
        .map(|key| Problem {
            location: walk
                .index
                .location(&key)
                .cloned()
                .unwrap_or(Location::File { path: path.to_owned(), line: None }),
            message: unknown::message(&key),
            field: Some(key.to_string()),
        })
        .collect();
    // In the order the file holds them, whatever order serde visited them in.
    warnings.sort_by_key(|warning| match warning.location {
        Location::File { line, .. } => line,
        _ => None,
    });
    let table =
        toml::Table::deserialize(Deserializer::from(document)).map_err(|err| at(err.span(), None, err.message()))?;
    Ok(FileLayer { table, index: walk.index, warnings })
}

/// Walks a parsed document, recording every path it sets.
struct Walk<'a> {
    /// The file, for locations.
    path: &'a Path,
    /// The file's text, for line numbers.
    text: &'a str,
    /// What has been recorded so far.
    index: LayerIndex,
    /// Key and value spans of every path, to find which field a serde error points at.
    spans: Vec<(FieldPath, Option<Range<usize>>, Range<usize>)>,
}

impl Walk<'_> {
    /// Records every entry of `table`, found at `at`.
    fn table(&mut self, table: &DeTable<'_>, at: &FieldPath) {
        for (key, value) in table {
            self.value(value, at.key(key.get_ref()), Some(key.span()));
        }
    }

    /// Records `value` at `path`; array-of-tables elements have no key, and their span is their `[[...]]` header.
    fn value(&mut self, value: &Spanned<DeValue<'_>>, path: FieldPath, key_span: Option<Range<usize>>) {
        let start = key_span.as_ref().map_or(value.span().start, |span| span.start);
        let location = Location::File { path: self.path.to_owned(), line: Some(line_of(self.text, start)) };
        let kind = match value.get_ref() {
            DeValue::Table(_) => Kind::Table,
            DeValue::Array(array) => Kind::Array(array.len()),
            _ => Kind::Scalar,
        };
        self.index.insert(path.clone(), location, kind);
        self.spans.push((path.clone(), key_span, value.span()));
        match value.get_ref() {
            DeValue::Table(table) => self.table(table, &path),
            DeValue::Array(array) => {
                for (n, element) in array.iter().enumerate() {
                    self.value(element, path.index(n), None);
                }
            }
            _ => {}
        }
    }

    /// The deepest path whose key or value contains byte `offset`.
    fn field_at(&self, offset: usize) -> Option<FieldPath> {
        let contains = |span: &Range<usize>| span.contains(&offset) || (span.is_empty() && span.start == offset);
        self.spans
            .iter()
            .filter(|(_, key, value)| key.as_ref().is_some_and(contains) || contains(value))
            .max_by_key(|(path, _, _)| path.depth())
            .map(|(path, _, _)| path.clone())
    }
}

/// serde_ignored's path of an ignored value, as the loader names fields.
fn field_path(path: &serde_ignored::Path<'_>) -> FieldPath {
    use serde_ignored::Path;
    match path {
        Path::Root => FieldPath::root(),
        Path::Map { parent, key } => field_path(parent).key(key),
        Path::Seq { parent, index } => field_path(parent).index(*index),
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        match parse(Path::new("/ws/c.toml"), text, Order::Merge) {
            Ok(_) => panic!("expected a problem"),
            Err(problem) => problem.to_string(),
        }
    }

    #[test]
    fn unknown_keys_are_warnings_naming_file_line_field_and_the_likely_key() {
        let text = r#"[server]
bind = "127.0.0.1:1"

[[runtimes.remote]]
id = "a"

[[runtimes.remote]]
id = "b"
endpont = "x"

[custom_section]
anything = 1
"#;
        let layer = parse(Path::new("/ws/c.toml"), text, Order::Merge).expect("unknown keys do not stop a load");
        let warnings: Vec<String> = layer.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "/ws/c.toml:9: runtimes.remote[1].endpont: unknown key `endpont`, ignored; did you mean `endpoint`?",
                "/ws/c.toml:11: custom_section: unknown key `custom_section`, ignored",
            ]
        );
        assert!(layer.table.contains_key("custom_section"), "the merge still sees it, so nothing is lost");
    }

    #[test]
    fn wrong_type_names_file_line_and_field() {
        let text = "[server]\nrequest_timeout_secs = \"sixty\"\n";
        assert!(
            problem(text).starts_with("/ws/c.toml:2: server.request_timeout_secs: invalid type"),
            "{}",
            problem(text)
        );
        let text = "[embedded]\nstore = \"sql\"\n";
        assert!(problem(text).starts_with("/ws/c.toml:2: embedded.store: unknown variant `sql`"), "{}", problem(text));
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        assert!(problem("[server]\nbind = \n").starts_with("/ws/c.toml:2: "), "{}", problem("[server]\nbind = \n"));
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
