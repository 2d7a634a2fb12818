//! Keeping the live registry in step with the configuration: registering configured runtimes at start, and
//! reconciling after an edit or a reload. Every kind of source goes through the same few lines: its spec
//! builds it and says what it must never show.

use runtime_api::RuntimeId;
use sources::SourceSpec;
use sources::spec::BuildOptions;

use crate::config::BackendConfig;
use crate::registry::RuntimeRegistry;
use crate::stack::Sanitizer;

/// The configured runtimes the registry holds now, as they were configured when registered.
#[derive(Default, Clone)]
pub struct Applied {
    /// Every kind, in registration order.
    pub specs: Vec<SourceSpec>,
}

impl Applied {
    /// Whether `id` was registered from configuration.
    pub fn holds(&self, id: &RuntimeId) -> bool {
        self.specs.iter().any(|spec| spec.id() == id)
    }
}

/// What reconciling changed.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Runtimes registered (new or replaced).
    pub added: Vec<RuntimeId>,
    /// Runtimes unregistered (gone or replaced).
    pub removed: Vec<RuntimeId>,
    /// Runtimes that could not be registered, and why.
    pub failed: Vec<(RuntimeId, String)>,
}

/// Makes the registry hold exactly the configured runtimes of `config`, touching only those `applied` says
/// came from configuration, and returns what it did; `applied` is updated to match.
pub fn reconcile(
    registry: &RuntimeRegistry,
    applied: &mut Applied,
    config: &BackendConfig,
    options: &BuildOptions,
) -> Reconciled {
    let mut outcome = Reconciled::default();
    // Removals first, so an id that moved from one kind to another, or changed, is free to register again.
    for stale in applied.specs.iter().filter(|spec| !config.runtimes.contains(spec)) {
        if registry.remove(stale.id()).is_some() {
            outcome.removed.push(stale.id().clone());
        }
    }
    applied.specs.retain(|spec| config.runtimes.contains(spec));
    for spec in &config.runtimes {
        if applied.specs.contains(spec) {
            continue;
        }
        match register(registry, spec, options) {
            Ok(()) => {
                outcome.added.push(spec.id().clone());
                applied.specs.push(spec.clone());
            }
            Err(reason) => outcome.failed.push((spec.id().clone(), reason)),
        }
    }
    outcome
}

/// Registers a configured runtime. One that cannot even be set up (a remote's unusable CA file, say) is still
/// listed, as inactive with the reason; one that is down is listed and starts working when it comes up.
pub fn register(registry: &RuntimeRegistry, spec: &SourceSpec, options: &BuildOptions) -> Result<(), String> {
    let registered = match spec.build(options) {
        Ok(source) => registry.register(source, Sanitizer::new().confidential(spec.id(), &spec.confidential())),
        Err(error) => registry.register_inactive(spec.descriptor(), error.to_string()),
    };
    registered.map(drop).map_err(|error| error.to_string())
}
