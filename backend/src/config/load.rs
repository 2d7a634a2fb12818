//! Reads every layer, checks each on its own, merges them with figment and validates the result.

use std::path::Path;

use figment::Figment;
use figment::providers::Serialized;

use super::origin::{FieldPath, Kind, LayerIndex, Order, Origins};
use super::raw::RawConfig;
use super::{
    BackendConfig, CONFIG_FILE, CliOverrides, ConfigError, LOCAL_CONFIG_FILE, Location, Problem, env, file, validate,
};

/// [`super::load`] with the environment variables given, so tests need not touch the process environment.
///
/// With `local_text`, that text stands in for the personal file, so an edit can be checked before it is written.
pub(super) fn load_from(
    workspace: &Path,
    cli: &CliOverrides,
    vars: impl IntoIterator<Item = (String, String)>,
    local_text: Option<&str>,
) -> Result<BackendConfig, ConfigError> {
    let workspace =
        std::path::absolute(workspace).map_err(|_| ConfigError::Workspace { path: workspace.to_owned() })?;
    if !workspace.is_dir() {
        return Err(ConfigError::Workspace { path: workspace });
    }
    let mut figment = Figment::new();
    let mut layers = Vec::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    // The local file is admerged so its `[[runtimes.remote]]` entries (personal) are appended to the base file's
    // (team-shared) rather than replacing them; its scalars still win.
    for (name, order) in [(CONFIG_FILE, Order::Merge), (LOCAL_CONFIG_FILE, Order::Admerge)] {
        let path = workspace.join(name);
        let text = match (order, local_text) {
            (Order::Admerge, Some(text)) => Some(text.to_owned()),
            _ => file::read(&path)?,
        };
        let Some(text) = text else { continue };
        match file::parse(&path, &text, order) {
            Ok(layer) => {
                let provider = Serialized::defaults(layer.table);
                figment = match order {
                    Order::Merge => figment.merge(provider),
                    Order::Admerge => figment.admerge(provider),
                };
                layers.push(layer.index);
                warnings.extend(layer.warnings);
            }
            Err(problem) => problems.push(problem),
        }
    }

    let env = env::layer(vars);
    problems.extend(env.problems);
    warnings.extend(env.warnings);
    for (key, value) in env.values {
        figment = figment.merge(Serialized::default(&key, value));
    }
    layers.push(env.index);

    if let Some(bind) = cli.bind {
        figment = figment.merge(Serialized::default("server.bind", bind.to_string()));
        let mut index = LayerIndex::new(Order::Merge);
        let server = FieldPath::root().key("server");
        index.insert(server.key("bind"), Location::CommandLine, Kind::Scalar);
        index.insert(server, Location::CommandLine, Kind::Table);
        layers.push(index);
    }
    if cli.no_auth {
        figment = figment.merge(Serialized::default("server.auth", "none"));
        let mut index = LayerIndex::new(Order::Merge);
        let server = FieldPath::root().key("server");
        index.insert(server.key("auth"), Location::CommandLine, Kind::Scalar);
        index.insert(server, Location::CommandLine, Kind::Table);
        layers.push(index);
    }

    // A layer that failed its own checks is missing from the merge, so checking the merged result would report
    // problems that are not there.
    if !problems.is_empty() {
        return Err(ConfigError::Invalid { problems });
    }
    let origins = Origins::new(layers);
    // Every layer passed the same checks on its own, so merging cannot produce a value of the wrong shape; this
    // mapping is a safety net, not an expected path.
    let raw: RawConfig = figment.extract().map_err(|errors| ConfigError::Invalid {
        problems: errors
            .into_iter()
            .map(|err| {
                let field = FieldPath::from_figment(&err.path);
                Problem {
                    location: origins.locate(&field),
                    field: Some(field.to_string()),
                    message: err.kind.to_string(),
                }
            })
            .collect(),
    })?;
    let mut config =
        validate::validate(raw, &workspace, &origins).map_err(|problems| ConfigError::Invalid { problems })?;
    config.warnings = warnings;
    Ok(config)
}
