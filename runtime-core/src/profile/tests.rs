//! The profiles file: loading, validation that reports every problem, and what profiles show.

use super::*;

fn problems_of(text: &str) -> Vec<String> {
    match ProfileSet::from_toml(text).unwrap_err() {
        ProfileError::Invalid { problems, .. } => problems,
        other => panic!("expected Invalid, got {other}"),
    }
}

#[test]
fn default_exists_even_when_the_file_omits_it() {
    let set =
        ProfileSet::from_toml("[[profiles]]\nname = \"fast\"\nexecutor = \"echo\"\nchunk_delay_ms = 0\n").unwrap();
    let names: Vec<_> = set.infos().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["default", "fast"]);
    assert_eq!(set.get("default").unwrap().executor_name(), "echo");
    assert!(ProfileSet::from_toml("").unwrap().get(DEFAULT_PROFILE).is_some());
}

#[test]
fn a_file_default_replaces_the_builtin() {
    let text =
        "[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 5\nsystem_prompt = \"be brief\"\n";
    let set = ProfileSet::from_toml(text).unwrap();
    assert_eq!(set.get("default").unwrap().system_prompt(), Some("be brief"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let problems = problems_of(
        r#"
[[profiles]]
name = "bad name"
executor = "echo"
model = "x"

[[profiles]]
name = "what"
executor = "llama"

[[profiles]]
name = "what"
executor = "echo"
"#,
    );
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("name must be"));
    assert!(problems[1].contains("model applies only to openai"));
    assert!(problems[2].contains("\"llama\" is not known"));
    assert!(problems[3].contains("used by an earlier profile"));
}

#[test]
fn syntax_errors_name_the_line_and_unknown_fields() {
    let err = ProfileSet::from_toml("[[profiles]]\nname = \"a\"\nexecutor = \"echo\"\ncolour = 1\n").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 4") && text.contains("colour"), "{text}");
    let err = ProfileSet::from_toml("[[profiles]]\nname = \"a\"\nexecutor = \"openai\"\nbase_urls = \"x\"\n");
    assert!(err.unwrap_err().to_string().contains("base_urls"), "unknown keys are refused on openai profiles too");
}

/// SPEC §9's own example file (shared with the end-to-end tests).
const SPEC_EXAMPLE: &str = include_str!("../../tests/fixtures/spec-profiles.toml");

#[cfg(feature = "openai")]
#[test]
fn the_spec_example_loads_and_shows_no_address_or_key_reference() {
    let set = ProfileSet::from_toml(SPEC_EXAMPLE).unwrap();
    let llm = set.get("local-llm").unwrap();
    assert_eq!((llm.executor_name(), llm.model()), ("openai", Some("qwen2.5:0.5b")));
    assert_eq!(llm.history(), HistoryBounds { max_messages: 50, max_chars: 60_000 });
    assert_eq!(llm.system_prompt(), Some("You are a concise assistant."));
    let info = serde_json::to_string(&set.infos()).unwrap();
    assert!(info.contains("Small local model") && info.contains("qwen2.5:0.5b"), "{info}");
    for hidden in ["11434", "127.0.0.1", "OPENAI_API_KEY", "env:"] {
        assert!(!info.contains(hidden), "{hidden} in {info}");
    }
    assert!(!format!("{llm:?}").contains("11434"));
}

#[cfg(not(feature = "openai"))]
#[test]
fn without_the_feature_an_openai_profile_is_refused_with_the_reason() {
    let problems = problems_of(SPEC_EXAMPLE);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("not available in this build"), "{problems:#?}");
}

#[test]
fn openai_fields_are_validated_together_without_repeating_the_address() {
    let problems = problems_of(
        r#"
[[profiles]]
name = "llm"
executor = "openai"
base_url = "ftp://10.1.2.3/v1"
api_key_ref = "vault:key"
temperature = 3.5
max_tokens = 0
request_timeout_s = 0
idle_timeout_s = 99999
max_retries = 11
max_context_chars = 0
chunk_delay_ms = 5
description = "bell\u0007"
"#,
    );
    let expected = [
        "chunk_delay_ms applies only to echo",
        "base_url must start with http",
        "model is required",
        "api_key_ref is invalid",
        "temperature must be between 0 and 2",
        "max_tokens must be between 1",
        "max_context_chars must be between 1",
        "request_timeout_s must be between 1",
        "idle_timeout_s must be between 1",
        "max_retries must be between 0 and 10",
        "description must not contain control characters",
    ];
    for text in expected {
        assert!(problems.iter().any(|p| p.contains(text)), "missing {text:?} in {problems:#?}");
    }
    assert!(problems.iter().all(|p| !p.contains("10.1.2.3")), "{problems:#?}");
}

#[test]
fn base_urls_with_credentials_queries_or_no_host_are_refused() {
    for (url, problem) in [
        ("https://user:pw@example.com/v1", "must not carry credentials"),
        ("https://example.com/v1?key=1", "query or fragment"),
        ("http:///v1", "must name a host"),
        ("http://host:port/v1", "port must be a number"),
        ("http://host:0/v1", "port must be a number"),
        ("http://exa mple.com/v1", "spaces"),
    ] {
        let text = format!("[[profiles]]\nname = \"m\"\nexecutor = \"openai\"\nmodel = \"x\"\nbase_url = \"{url}\"\n");
        let problems = problems_of(&text);
        assert!(problems.iter().any(|p| p.contains(problem)), "{url}: {problems:#?}");
        assert!(problems.iter().all(|p| !p.contains("pw@") && !p.contains("key=1")), "{problems:#?}");
    }
}

#[test]
fn openai_only_fields_are_refused_on_echo_profiles() {
    let problems =
        problems_of("[[profiles]]\nname = \"e\"\nexecutor = \"echo\"\nmax_retries = 1\nidle_timeout_s = 3\n");
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems.iter().all(|p| p.contains("applies only to openai profiles")));
}
