//! Remembers where every configuration value was set, so a problem found after merging names its file and line.
//!
//! Each layer records the paths it sets. [`Origins::locate`] replays figment's merge rules over those records: a
//! table merges with the tables below it, any other value replaces what is below, and an array from a layer merged
//! with `admerge` is appended to the array below — so the n-th merged `runtimes.remote` entry is traced back to the
//! file that holds it and its index there.

use std::collections::BTreeMap;
use std::fmt;

use super::Location;

/// A path to a configuration value, shown as `runtimes.remote[0].endpoint`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FieldPath(Vec<Segment>);

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// How a layer is merged onto the layers below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// figment `merge`: the layer's values replace, arrays included.
    Merge,
    /// figment `admerge`: like `merge`, but arrays are appended to the arrays below.
    Admerge,
}

/// What kind of value a layer sets at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A table; merged key by key.
    Table,
    /// An array of this many elements.
    Array(usize),
    /// Anything else.
    Scalar,
}

/// The paths one layer sets, with where and what kind.
#[derive(Debug)]
pub(super) struct LayerIndex {
    /// How this layer is merged.
    order: Order,
    /// Every path the layer sets, tables and array elements included.
    entries: BTreeMap<FieldPath, (Location, Kind)>,
}

/// The layers' indexes, lowest precedence first.
#[derive(Debug)]
pub(super) struct Origins {
    /// Lowest precedence first, in the order they were merged.
    layers: Vec<LayerIndex>,
}

impl FieldPath {
    /// The document root.
    pub(super) fn root() -> Self {
        Self::default()
    }

    /// Parses figment's error path (`["runtimes", "remote", "0", "id"]`): all-digit steps are indexes.
    pub(super) fn from_figment<S: AsRef<str>>(steps: &[S]) -> Self {
        Self(
            steps
                .iter()
                .map(|s| match s.as_ref().parse() {
                    Ok(i) => Segment::Index(i),
                    Err(_) => Segment::Key(s.as_ref().to_owned()),
                })
                .collect(),
        )
    }

    /// This path followed by a table key.
    pub(super) fn key(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Segment::Key(key.to_owned()));
        Self(steps)
    }

    /// This path followed by an array index.
    pub(super) fn index(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Segment::Index(index));
        Self(steps)
    }

    /// How many steps deep the path is.
    pub(super) fn depth(&self) -> usize {
        self.0.len()
    }

    /// The path of the table holding this value, and its key (`None` for an array element or the root).
    pub(super) fn split_last(&self) -> (FieldPath, Option<String>) {
        match self.0.split_last() {
            Some((Segment::Key(key), parent)) => (Self(parent.to_vec()), Some(key.clone())),
            Some((Segment::Index(_), parent)) => (Self(parent.to_vec()), None),
            None => (Self::root(), None),
        }
    }

    /// Every proper prefix, shortest first, excluding the root.
    pub(super) fn ancestors(&self) -> impl Iterator<Item = FieldPath> + '_ {
        (1..self.0.len()).map(|n| Self(self.0[..n].to_vec()))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if n == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl LayerIndex {
    /// An empty index for a layer merged with `order`.
    pub(super) fn new(order: Order) -> Self {
        Self { order, entries: BTreeMap::new() }
    }

    /// Where the layer sets `path`, if it does.
    pub(super) fn location(&self, path: &FieldPath) -> Option<&Location> {
        self.entries.get(path).map(|(location, _)| location)
    }

    /// Records that the layer sets `path`; the first record of a path wins.
    pub(super) fn insert(&mut self, path: FieldPath, location: Location, kind: Kind) {
        self.entries.entry(path).or_insert((location, kind));
    }

    /// The record at `path`, if the layer sets it.
    fn get(&self, path: &FieldPath) -> Option<&(Location, Kind)> {
        self.entries.get(path)
    }
}

impl Origins {
    /// Indexes of the layers, lowest precedence first.
    pub(super) fn new(layers: Vec<LayerIndex>) -> Self {
        Self { layers }
    }

    /// Where the merged value at `path` was set; for a path no layer sets, where its nearest set ancestor was set,
    /// or [`Location::Default`].
    pub(super) fn locate(&self, path: &FieldPath) -> Location {
        // The layers (and their own paths) whose values make up the merged value at the current step, lowest first.
        let mut contributors: Vec<(usize, FieldPath)> =
            (0..self.layers.len()).map(|l| (l, FieldPath::root())).collect();
        let mut found = Location::Default;
        for segment in &path.0 {
            let here: Vec<(usize, FieldPath, Kind)> = match segment {
                Segment::Key(key) => contributors
                    .iter()
                    .filter_map(|(layer, own)| {
                        let own = own.key(key);
                        let (_, kind) = self.layers[*layer].get(&own)?;
                        Some((*layer, own, *kind))
                    })
                    .collect(),
                Segment::Index(index) => self.element(&contributors, *index).into_iter().collect(),
            };
            let Some((top_layer, top_path, top_kind)) = here.last() else { return found };
            if let Some((location, _)) = self.layers[*top_layer].get(top_path) {
                found = location.clone();
            }
            let first = self.first_contributor(&here, *top_kind);
            contributors = here[first..].iter().map(|(layer, own, _)| (*layer, own.clone())).collect();
        }
        found
    }

    /// Which contributing array holds the merged array's `index`-th element, and its own path there.
    fn element(&self, arrays: &[(usize, FieldPath)], mut index: usize) -> Option<(usize, FieldPath, Kind)> {
        for (layer, own) in arrays {
            let len = match self.layers[*layer].get(own) {
                Some((_, Kind::Array(len))) => *len,
                _ => 0,
            };
            if index < len {
                let own = own.index(index);
                let (_, kind) = self.layers[*layer].get(&own)?;
                return Some((*layer, own, *kind));
            }
            index -= len;
        }
        None
    }

    /// Index into `here` (lowest first) of the lowest layer whose value still shows in the merged value.
    fn first_contributor(&self, here: &[(usize, FieldPath, Kind)], top_kind: Kind) -> usize {
        let mut first = here.len() - 1;
        while first > 0 {
            let (upper_layer, _, _) = &here[first];
            let (_, _, lower_kind) = &here[first - 1];
            let shows = match (top_kind, lower_kind) {
                (Kind::Table, Kind::Table) => true,
                (Kind::Array(_), Kind::Array(_)) => self.layers[*upper_layer].order == Order::Admerge,
                _ => false,
            };
            if !shows {
                break;
            }
            first -= 1;
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, line: usize) -> Location {
        Location::File { path: name.into(), line: Some(line) }
    }

    fn path(s: &str) -> FieldPath {
        let steps: Vec<&str> = s.split(['.', '[', ']']).filter(|s| !s.is_empty()).collect();
        FieldPath::from_figment(&steps)
    }

    /// base: two remotes and `server.bind`; local: one remote and `server.request_timeout_secs`; env: bind.
    fn origins(env_sets_remotes: bool) -> Origins {
        let mut base = LayerIndex::new(Order::Merge);
        base.insert(path("server"), file("base", 1), Kind::Table);
        base.insert(path("server.bind"), file("base", 2), Kind::Scalar);
        base.insert(path("runtimes"), file("base", 4), Kind::Table);
        base.insert(path("runtimes.remote"), file("base", 4), Kind::Array(2));
        base.insert(path("runtimes.remote[0]"), file("base", 4), Kind::Table);
        base.insert(path("runtimes.remote[0].id"), file("base", 5), Kind::Scalar);
        base.insert(path("runtimes.remote[1]"), file("base", 7), Kind::Table);
        base.insert(path("runtimes.remote[1].id"), file("base", 8), Kind::Scalar);
        let mut local = LayerIndex::new(Order::Admerge);
        local.insert(path("server"), file("local", 1), Kind::Table);
        local.insert(path("server.request_timeout_secs"), file("local", 2), Kind::Scalar);
        local.insert(path("runtimes"), file("local", 3), Kind::Table);
        local.insert(path("runtimes.remote"), file("local", 3), Kind::Array(1));
        local.insert(path("runtimes.remote[0]"), file("local", 3), Kind::Table);
        local.insert(path("runtimes.remote[0].id"), file("local", 4), Kind::Scalar);
        let mut env = LayerIndex::new(Order::Merge);
        let var = |name: &str| Location::Env { var: name.into() };
        env.insert(path("server"), var("B"), Kind::Table);
        env.insert(path("server.bind"), var("B"), Kind::Scalar);
        if env_sets_remotes {
            env.insert(path("runtimes"), var("R"), Kind::Table);
            env.insert(path("runtimes.remote"), var("R"), Kind::Array(1));
            env.insert(path("runtimes.remote[0]"), var("R"), Kind::Table);
            env.insert(path("runtimes.remote[0].id"), var("R"), Kind::Scalar);
        }
        Origins::new(vec![base, local, env])
    }

    #[test]
    fn scalars_come_from_the_highest_layer_that_sets_them() {
        let origins = origins(false);
        assert_eq!(origins.locate(&path("server.bind")), Location::Env { var: "B".into() });
        assert_eq!(origins.locate(&path("server.request_timeout_secs")), file("local", 2));
        assert_eq!(origins.locate(&path("server.body_limit_bytes")), Location::Env { var: "B".into() });
        assert_eq!(origins.locate(&path("embedded.store")), Location::Default);
    }

    #[test]
    fn admerged_array_elements_map_back_to_their_file_and_index() {
        let origins = origins(false);
        assert_eq!(origins.locate(&path("runtimes.remote[1].id")), file("base", 8));
        assert_eq!(origins.locate(&path("runtimes.remote[2].id")), file("local", 4));
        assert_eq!(origins.locate(&path("runtimes.remote[2].endpoint")), file("local", 3));
    }

    #[test]
    fn a_merged_array_replaces_the_arrays_below() {
        let origins = origins(true);
        assert_eq!(origins.locate(&path("runtimes.remote[0].id")), Location::Env { var: "R".into() });
        assert_eq!(origins.locate(&path("runtimes.remote[1].id")), Location::Env { var: "R".into() });
    }

    #[test]
    fn paths_display_like_toml_keys() {
        assert_eq!(path("runtimes.remote[3].endpoint").to_string(), "runtimes.remote[3].endpoint");
        assert_eq!(FieldPath::root().key("server").key("bind").to_string(), "server.bind");
    }
}
