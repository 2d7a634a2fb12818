use serde_json::Value;

use super::*;

fn document(token: bool) -> Value {
    serde_json::to_value(RuntimeApiDoc::for_server(token)).unwrap()
}

/// Every (path, method) the router serves.
const ROUTES: &[(&str, &str)] = &[
    ("/healthz", "get"),
    ("/v1/runtime", "get"),
    ("/v1/profiles", "get"),
    ("/v1/workers", "get"),
    ("/v1/workers", "post"),
    ("/v1/workers/{worker_id}", "get"),
    ("/v1/workers/{worker_id}/input", "post"),
    ("/v1/workers/{worker_id}/stop", "post"),
    ("/v1/workers/{worker_id}/cancel", "post"),
    ("/v1/workers/{worker_id}/transcript", "get"),
    ("/v1/events", "get"),
    ("/v1/openapi.json", "get"),
];

fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((path.clone(), method.clone(), operation));
        }
    }
    found
}

fn statuses(operation: &Value) -> Vec<&str> {
    operation["responses"].as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let document = document(false);
    let mut documented: Vec<_> = operations(&document).into_iter().map(|(p, m, _)| (p, m)).collect();
    let mut expected: Vec<_> = ROUTES.iter().map(|(p, m)| (p.to_string(), m.to_string())).collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected);
}

#[test]
fn every_operation_names_the_refusals_of_the_layers() {
    let document = document(false);
    for (path, method, operation) in operations(&document) {
        let statuses = statuses(operation);
        for status in ["400", "403"] {
            assert!(statuses.contains(&status), "{method} {path}: {statuses:?}");
        }
        assert!(!statuses.contains(&"401"), "{method} {path}: no token, no 401");
        assert!(operation.get("security").is_none(), "{method} {path}");
        if method == "post" {
            for status in ["404", "408", "413", "503"] {
                assert!(statuses.contains(&status), "{method} {path}: {statuses:?}");
            }
        }
    }
    assert!(document["components"].get("securitySchemes").is_none());
}

#[test]
fn with_a_token_every_v1_operation_requires_the_bearer_scheme() {
    let document = document(true);
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for (path, method, operation) in operations(&document) {
        let guarded = path.starts_with("/v1/");
        assert_eq!(statuses(operation).contains(&"401"), guarded, "{method} {path}");
        assert_eq!(operation.get("security").is_some(), guarded, "{method} {path}");
    }
}

#[test]
fn command_bodies_are_optional_where_the_server_takes_none() {
    let document = document(false);
    for (path, required) in [
        ("/v1/workers", false),
        ("/v1/workers/{worker_id}/stop", false),
        ("/v1/workers/{worker_id}/cancel", false),
        ("/v1/workers/{worker_id}/input", true),
    ] {
        let body = &document["paths"][path]["post"]["requestBody"];
        assert_eq!(body["required"].as_bool().unwrap_or(false), required, "{path}");
        let schema = &body["content"]["application/json"]["schema"];
        assert!(schema.get("$ref").is_some(), "{path}: an object schema, not a nullable one: {schema}");
    }
}

#[test]
fn parameters_state_their_real_bounds() {
    let document = document(false);
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["LimitParam"]["maximum"], u64::from(u32::MAX));
    assert_eq!(schemas["SeqParam"]["maximum"], u64::MAX);
    assert_eq!(schemas["WorkerId"]["maxLength"], runtime_api::ids::MAX_ID_LEN);
    let key = &document["paths"]["/v1/workers"]["post"]["parameters"][0];
    assert_eq!((key["name"].as_str(), key["in"].as_str()), (Some("Idempotency-Key"), Some("header")));
    assert_eq!(key["schema"]["maxLength"], 128);
}
