//! A small JSON-schema checker, just enough to compare what serde writes with what the schemas declare.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::Timestamp;

/// An object's declared properties and the names among them that are required.
type Shape = (BTreeMap<String, Value>, BTreeSet<String>);

/// Follows a `$ref` into the document's components.
pub(super) fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {r}")),
        None => s,
    }
}

/// The strings in a JSON array (empty when it is not one).
pub(super) fn strings(v: &Value) -> BTreeSet<&str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

/// The properties and required names the object `value` must match, following `$ref`, merging `allOf` parts
/// (how flatten is expressed) and choosing the one `oneOf` variant whose tag and required fields fit.
fn object_shape(doc: &Value, s: &Value, value: &Value) -> Result<Shape, String> {
    let s = resolve(doc, s);
    if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
        let (mut props, mut required) = (BTreeMap::new(), BTreeSet::new());
        for part in parts {
            let (p, r) = object_shape(doc, part, value)?;
            props.extend(p);
            required.extend(r);
        }
        return Ok((props, required));
    }
    if let Some(variants) = s.get("oneOf").and_then(Value::as_array) {
        let fits = |(props, required): &Shape| {
            required.iter().all(|name| value.get(name).is_some())
                && props.iter().all(|(name, p)| match p.get("enum").and_then(Value::as_array) {
                    Some(only) if only.len() == 1 => value.get(name) == Some(&only[0]),
                    _ => true,
                })
        };
        let objects = variants.iter().filter(|v| {
            let v = resolve(doc, v);
            v["type"] == "object" || v.get("allOf").is_some() || v.get("oneOf").is_some()
        });
        let mut matching = objects.filter_map(|v| object_shape(doc, v, value).ok()).filter(fits);
        return match (matching.next(), matching.next()) {
            (Some(shape), None) => Ok(shape),
            _ => Err(format!("not exactly one variant fits {value}")),
        };
    }
    let props = s["properties"].as_object().cloned().unwrap_or_default().into_iter().collect();
    let required = strings(&s["required"]).into_iter().map(str::to_owned).collect();
    Ok((props, required))
}

/// Checks `value` against schema `s` closely enough to catch a renamed field, a wrong tag, a missing
/// required field, a wrong scalar type or an enum value serde never writes.
pub(super) fn conforms(doc: &Value, s: &Value, value: &Value, at: &str) -> Result<(), String> {
    let s = resolve(doc, s);
    if let Some(variants) = s.get("oneOf").and_then(Value::as_array).filter(|_| !value.is_object()) {
        let fit = variants.iter().filter(|v| conforms(doc, v, value, at).is_ok()).count();
        return if fit == 1 { Ok(()) } else { Err(format!("{at}: {fit} variants fit {value}")) };
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let types: BTreeSet<&str> = match &s["type"] {
        Value::String(t) => [t.as_str()].into(),
        other => strings(other),
    };
    if !types.is_empty() && !types.contains(kind) {
        return Err(format!("{at}: {kind} where the schema says {types:?}"));
    }
    if s["format"] == "date-time" && value.as_str().and_then(|t| t.parse::<Timestamp>().ok()).is_none() {
        return Err(format!("{at}: {value} is not a date-time"));
    }
    match value {
        Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, item)| conforms(doc, &s["items"], item, &format!("{at}[{i}]")))
        }
        Value::Object(map) => {
            let (props, required) = object_shape(doc, s, value)?;
            if let Some(missing) = required.iter().find(|name| !map.contains_key(*name)) {
                return Err(format!("{at}: required {missing} is missing"));
            }
            for (key, item) in map {
                let item_schema = match (props.get(key), s.get("additionalProperties")) {
                    (Some(p), _) => p,
                    (None, Some(extra)) if extra.is_object() => extra,
                    _ => return Err(format!("{at}: {key} is not in the schema")),
                };
                conforms(doc, item_schema, item, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
