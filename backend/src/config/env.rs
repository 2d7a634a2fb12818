//! The `YOI_BACKEND_*` layer: environment variables as configuration keys, each checked on its own.
//!
//! Built from an explicit list of variables rather than figment's `Env` provider, which reads the process
//! environment directly: tests then pass their own variables, and the parsing is figment's own
//! (`YOI_BACKEND_SERVER__BIND` is key `server.bind`, values parsed as figment [`Value`]s) either way.

use figment::Figment;
use figment::providers::Serialized;
use figment::value::Value;

use super::origin::{FieldPath, Kind, LayerIndex, Order};
use super::raw::RawConfig;
use super::{ENV_PREFIX, Location, Problem};

/// Separates nesting levels in a variable name, as figment's `Env::split("__")`.
const SEPARATOR: &str = "__";

/// The variables that set configuration keys.
pub(super) struct EnvLayer {
    /// `(key path such as "server.bind", value)`, in variable-name order.
    pub(super) values: Vec<(String, Value)>,
    /// Where each value was set.
    pub(super) index: LayerIndex,
    /// Variables that are not valid configuration on their own.
    pub(super) problems: Vec<Problem>,
    /// Variables naming keys the format does not know (ignored, as in a file).
    pub(super) warnings: Vec<Problem>,
}

/// The process environment, minus variables whose names are not unicode (they cannot name a configuration key).
pub(super) fn process_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.to_string_lossy().into_owned())))
}

/// Picks the configuration variables out of `vars` and checks each against the file format.
///
/// Only names with a `__` count: every configuration key sits in a table (`server`, `embedded`, `runtimes`), so a
/// name without one cannot be configuration — it is a secret such as `YOI_BACKEND_ACCESS_TOKEN` or a command-line
/// flag's variable. Within that space an unknown key is warned about and ignored, like in a file.
pub(super) fn layer(vars: impl IntoIterator<Item = (String, String)>) -> EnvLayer {
    let mut vars: Vec<(String, String, String)> = vars
        .into_iter()
        .filter_map(|(name, value)| {
            let prefix = name.get(..ENV_PREFIX.len())?;
            let rest = name.get(ENV_PREFIX.len()..)?;
            if !prefix.eq_ignore_ascii_case(ENV_PREFIX) || !rest.contains(SEPARATOR) {
                return None;
            }
            let key = rest.to_ascii_lowercase().replace(SEPARATOR, ".");
            Some((key, name, value))
        })
        .collect();
    vars.sort_by(|a, b| a.1.cmp(&b.1));

    let mut layer = EnvLayer {
        values: Vec::new(),
        index: LayerIndex::new(Order::Merge),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    for (key, name, text) in vars {
        let location = Location::Env { var: name };
        if key.split('.').any(str::is_empty) {
            layer.problems.push(Problem {
                location,
                field: None,
                message: "variable name does not name a configuration key".to_owned(),
            });
            continue;
        }
        let value: Value = text.parse().unwrap_or_else(|never| match never {});
        let alone = Figment::new().merge(Serialized::default(&key, &value));
        if let Err(errors) = alone.extract::<RawConfig>() {
            layer.problems.extend(errors.into_iter().map(|err| Problem {
                location: location.clone(),
                field: Some(FieldPath::from_figment(&err.path).to_string()),
                message: err.kind.to_string(),
            }));
            continue;
        }
        if let Ok(json) = alone.extract::<serde_json::Value>() {
            let mut unknown = Vec::new();
            let _: Result<RawConfig, _> = serde_ignored::deserialize(json, |path| unknown.push(path.to_string()));
            layer.warnings.extend(unknown.into_iter().map(|ignored| {
                let path = FieldPath::from_figment(&ignored.split('.').collect::<Vec<_>>());
                Problem {
                    location: location.clone(),
                    message: super::unknown::message(&path),
                    field: Some(path.to_string()),
                }
            }));
        }
        let path = FieldPath::from_figment(&key.split('.').collect::<Vec<_>>());
        for ancestor in path.ancestors() {
            layer.index.insert(ancestor, location.clone(), Kind::Table);
        }
        record(&mut layer.index, path, &value, &location);
        layer.values.push((key, value));
    }
    layer
}

/// Records `value` and everything inside it at `path`, all set by the same variable.
fn record(index: &mut LayerIndex, path: FieldPath, value: &Value, location: &Location) {
    match value {
        Value::Dict(_, dict) => {
            index.insert(path.clone(), location.clone(), Kind::Table);
            for (key, inner) in dict {
                record(index, path.key(key), inner, location);
            }
        }
        Value::Array(_, array) => {
            index.insert(path.clone(), location.clone(), Kind::Array(array.len()));
            for (n, inner) in array.iter().enumerate() {
                record(index, path.index(n), inner, location);
            }
        }
        _ => index.insert(path, location.clone(), Kind::Scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn only_prefixed_nested_names_are_configuration() {
        let layer = layer(vars(&[
            ("YOI_BACKEND_SERVER__BIND", "0.0.0.0:9000"),
            ("YOI_BACKEND_ACCESS_TOKEN", "canary-token"),
            ("YOI_BACKEND_WORKSPACE", "/ws"),
            ("OTHER_SERVER__BIND", "x"),
        ]));
        assert!(layer.problems.is_empty());
        let keys: Vec<&str> = layer.values.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["server.bind"]);
    }

    #[test]
    fn unknown_or_mistyped_keys_name_the_variable() {
        let layer = layer(vars(&[
            ("YOI_BACKEND_SERVER__BINDD", "x"),
            ("YOI_BACKEND_SERVER__REQUEST_TIMEOUT_SECS", "soon"),
            ("YOI_BACKEND_SERVER____BIND", "x"),
        ]));
        let problems: Vec<String> = layer.problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with(
            "environment variable YOI_BACKEND_SERVER__REQUEST_TIMEOUT_SECS: server.request_timeout_secs: invalid type"
        ));
        assert!(problems[1].starts_with("environment variable YOI_BACKEND_SERVER____BIND: "));
        let warnings: Vec<String> = layer.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            ["environment variable YOI_BACKEND_SERVER__BINDD: server.bindd: unknown key `bindd`, ignored; did you \
              mean `bind`?"]
        );
        assert_eq!(layer.values.len(), 1, "the unknown key is ignored, not refused");
    }
}
