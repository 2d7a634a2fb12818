//! Edits of the personal config file's text with `toml_edit`, so everything the operator wrote — comments,
//! blank lines, key order, tables and keys this build does not know — stays as it was.

use toml_edit::{ArrayOfTables, DocumentMut, Item, RawString, Table, TableLike, Value};

use super::rules::CheckedConnection;

/// The personal config file, parsed for editing.
pub struct ConfigDocument {
    doc: DocumentMut,
}

/// Why the file cannot take an edit.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The text is not TOML.
    #[error("{0}")]
    Syntax(String),
    /// `runtimes` or `runtimes.remote` has a shape the configuration does not allow.
    #[error("{0} is not a table of runtime lists")]
    Shape(&'static str),
}

impl ConfigDocument {
    /// Parses the file's text; an empty text is an empty file.
    pub fn parse(text: &str) -> Result<Self, DocumentError> {
        let doc = text.parse::<DocumentMut>().map_err(|err| {
            let line = err.span().map_or(1, |span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            DocumentError::Syntax(format!("line {line}: {}", err.message().trim_end()))
        })?;
        Ok(ConfigDocument { doc })
    }

    /// The text to write back.
    pub fn render(&self) -> String {
        self.doc.to_string()
    }

    /// Ids of every `[[runtimes.remote]]` entry, in file order.
    pub fn remote_ids(&self) -> Vec<String> {
        self.ids("remote")
    }

    /// Ids of every `[[runtimes.local_compat]]` entry, in file order.
    pub fn local_compat_ids(&self) -> Vec<String> {
        self.ids("local_compat")
    }

    /// `(table, id)` of every entry under `[runtimes]`, whatever its kind, in file order within a table.
    pub fn entries(&self) -> Vec<(String, String)> {
        let Some(runtimes) = self.doc.get("runtimes").and_then(Item::as_table_like) else { return Vec::new() };
        let tables: Vec<String> = runtimes.iter().map(|(table, _)| table.to_owned()).collect();
        tables.into_iter().flat_map(|table| self.ids(&table).into_iter().map(move |id| (table.clone(), id))).collect()
    }

    fn ids(&self, list: &str) -> Vec<String> {
        let Some(runtimes) = self.doc.get("runtimes").and_then(Item::as_table_like) else { return Vec::new() };
        match runtimes.get(list) {
            Some(Item::ArrayOfTables(tables)) => tables.iter().filter_map(|t| id_of(t)).collect(),
            Some(Item::Value(Value::Array(array))) => {
                array.iter().filter_map(|v| v.as_inline_table().and_then(|t| id_of(t))).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Appends a `[[runtimes.remote]]` entry holding only what is persisted: id, endpoint, display name and
    /// token reference.
    pub fn add_remote(&mut self, connection: &CheckedConnection) -> Result<(), DocumentError> {
        // Comments after the last key of the file belong to what they follow, not to the end of the file:
        // they are kept above the new entry rather than below it.
        let trailing = self.doc.trailing().as_str().filter(|text| text.contains('#')).map(str::to_owned);
        // The new entry goes at the end of the file, even when the list it joins is followed by other tables.
        let mut last: isize = 0;
        visit_tables(self.doc.as_table_mut(), &mut |table| last = last.max(table.position().unwrap_or(0)));
        let runtimes = self.doc.entry("runtimes").or_insert_with(|| {
            let mut table = Table::new();
            // `[runtimes]` itself holds nothing: only its `[[runtimes.remote]]` headers are written.
            table.set_implicit(true);
            Item::Table(table)
        });
        let runtimes = runtimes.as_table_like_mut().ok_or(DocumentError::Shape("runtimes"))?;
        let remote = runtimes.entry("remote").or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
        let mut entry = Table::new();
        entry.set_position(Some(last + 1));
        entry.insert("id", toml_edit::value(connection.id.as_str()));
        entry.insert("endpoint", toml_edit::value(&connection.endpoint_text));
        entry.insert("display_name", toml_edit::value(&connection.display_name));
        if let Some(token_ref) = &connection.token_ref {
            entry.insert("token_ref", toml_edit::value(token_ref));
        }
        match remote {
            Item::ArrayOfTables(tables) => {
                if let Some(trailing) = &trailing {
                    let newline = if trailing.ends_with('\n') { "" } else { "\n" };
                    entry.decor_mut().set_prefix(format!("{trailing}{newline}\n"));
                }
                tables.push(entry);
                if trailing.is_some() {
                    self.doc.set_trailing("");
                }
                Ok(())
            }
            Item::Value(Value::Array(array)) => {
                array.push(entry.into_inline_table());
                Ok(())
            }
            _ => Err(DocumentError::Shape("runtimes.remote")),
        }
    }

    /// Removes the `[[runtimes.remote]]` entry with this id; `false` when there is none. Comment lines above
    /// the entry's header stay in the file, moved to whatever follows it.
    pub fn remove_remote(&mut self, id: &str) -> bool {
        let Some(runtimes) = self.doc.get_mut("runtimes").and_then(Item::as_table_like_mut) else { return false };
        match runtimes.get_mut("remote") {
            Some(Item::ArrayOfTables(tables)) => {
                let Some(index) = tables.iter().position(|t| id_of(t).as_deref() == Some(id)) else { return false };
                let removed = tables.get(index).map(|t| (t.position(), comments(t.decor().prefix())));
                tables.remove(index);
                if let Some((Some(position), kept)) = removed
                    && !kept.is_empty()
                {
                    self.keep_comments(position, kept);
                }
                true
            }
            Some(Item::Value(Value::Array(array))) => {
                let found =
                    array.iter().position(|v| v.as_inline_table().and_then(|t| id_of(t)).as_deref() == Some(id));
                found.map(|index| array.remove(index)).is_some()
            }
            _ => false,
        }
    }

    /// Puts `kept` comment lines in front of the first table after `position`, or at the end of the file.
    fn keep_comments(&mut self, position: isize, kept: String) {
        let mut next: Option<isize> = None;
        visit_tables(self.doc.as_table_mut(), &mut |table| {
            if let Some(p) = table.position().filter(|&p| p > position) {
                next = Some(next.map_or(p, |n| n.min(p)));
            }
        });
        let mut placed = false;
        if let Some(next) = next {
            visit_tables(self.doc.as_table_mut(), &mut |table| {
                if !placed && table.position() == Some(next) {
                    let prefix = comments_then(&kept, table.decor().prefix());
                    table.decor_mut().set_prefix(prefix);
                    placed = true;
                }
            });
        }
        if !placed {
            let trailing = self.doc.trailing().as_str().unwrap_or_default().to_owned();
            self.doc.set_trailing(format!("{kept}{trailing}"));
        }
    }
}

/// Calls `f` on every table below `table` that is written as a header, depth first.
fn visit_tables(table: &mut Table, f: &mut impl FnMut(&mut Table)) {
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(child) => {
                f(child);
                visit_tables(child, f);
            }
            Item::ArrayOfTables(tables) => {
                for child in tables.iter_mut() {
                    f(child);
                    visit_tables(child, f);
                }
            }
            _ => {}
        }
    }
}

/// The `id` string of an entry.
fn id_of(table: &dyn TableLike) -> Option<String> {
    table.get("id").and_then(Item::as_str).map(str::to_owned)
}

/// The comment lines of a decor prefix, each ending in a newline.
fn comments(prefix: Option<&RawString>) -> String {
    let text = prefix.and_then(RawString::as_str).unwrap_or_default();
    text.lines().filter(|line| line.trim_start().starts_with('#')).map(|line| format!("{line}\n")).collect()
}

/// `kept` comment lines followed by an existing prefix.
fn comments_then(kept: &str, prefix: Option<&RawString>) -> String {
    format!("{kept}{}", prefix.and_then(RawString::as_str).unwrap_or_default())
}

#[cfg(test)]
mod tests;
