//! Architecture invariants that the compiler does not enforce, checked against the real dependency graph.

use std::process::Command;

/// The normal (non-dev, non-build) dependency closure of a package, as `cargo tree` prints it.
fn normal_dependencies(args: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--edges", "normal", "--prefix", "none", "--format", "{p}"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn assert_free_of(package: &str, deps: &[String], forbidden: &[&str]) {
    let found: Vec<_> = deps.iter().filter(|d| forbidden.contains(&d.as_str())).collect();
    assert!(found.is_empty(), "{package} must not depend on {found:?}");
}

#[test]
fn the_contract_crate_depends_on_no_async_runtime_or_http_stack() {
    let deps = normal_dependencies(&["-p", "runtime-api"]);
    assert!(deps.iter().any(|d| d == "serde"), "the check sees real dependencies: {deps:?}");
    assert_free_of("runtime-api", &deps, &["tokio", "hyper", "axum", "reqwest", "tower", "http"]);
}

#[test]
fn the_runtime_library_without_features_has_no_http_dependency() {
    let deps = normal_dependencies(&["-p", "runtime-core", "--no-default-features"]);
    assert!(deps.iter().any(|d| d == "tokio"), "the check sees real dependencies: {deps:?}");
    assert_free_of("runtime-core", &deps, &["hyper", "axum", "reqwest", "tower", "http"]);
}

#[test]
fn the_openai_executor_brings_an_http_client_but_not_the_server() {
    let deps = normal_dependencies(&["-p", "runtime-core", "--no-default-features", "--features", "openai"]);
    assert!(deps.iter().any(|d| d == "reqwest"), "the openai feature brings the HTTP client: {deps:?}");
    assert!(deps.iter().any(|d| d == "eventsource-stream"), "and a maintained SSE decoder: {deps:?}");
    assert_free_of("runtime-core (openai)", &deps, &["axum", "clap", "tracing-subscriber", "mimalloc"]);
}

#[test]
fn both_binaries_are_built_with_the_openai_executor() {
    for package in ["runtime-core", "backend"] {
        let deps = normal_dependencies(&["-p", package]);
        assert!(deps.iter().any(|d| d == "eventsource-stream"), "{package} runs openai profiles: {deps:?}");
    }
}

#[test]
fn secret_references_depend_on_no_runtime_or_io_stack() {
    let deps = normal_dependencies(&["-p", "secrets"]);
    assert!(deps.iter().any(|d| d == "thiserror"), "the check sees real dependencies: {deps:?}");
    assert_free_of("secrets", &deps, &["tokio", "hyper", "reqwest", "serde", "runtime-core", "runtime-api"]);
}

#[test]
fn the_backend_reaches_runtimes_only_through_sources() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let backend = metadata["packages"].as_array().unwrap().iter().find(|p| p["name"] == "backend").unwrap();
    let direct: Vec<&str> =
        backend["dependencies"].as_array().unwrap().iter().filter_map(|d| d["name"].as_str()).collect();
    assert!(direct.contains(&"sources"), "the check sees real dependencies: {direct:?}");
    assert!(!direct.contains(&"runtime-core"), "backend must not depend on runtime-core directly: {direct:?}");
}
