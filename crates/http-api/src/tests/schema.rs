//! The OpenAPI document against the router (both directions) and real responses against
//! the document's schemas, with a checker for the subset of JSON Schema the document
//! uses (`$ref`, `type` with `null`, `properties`, `required`, `additionalProperties:
//! false`, `items`, `enum`, `format: date-time`).

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::Value;

use super::{Harness, Reply};
use crate::openapi_document;
use crate::routes::Access;

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("local reference");
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling {reference}"));
            resolve(doc, target)
        }
        None => schema,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("schema type {other} not supported by the checker"),
    }
}

/// Problems of `value` against `schema`, each with its JSON path.
pub(crate) fn check(
    doc: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    let schema = resolve(doc, schema);
    if let Some(types) = schema.get("type") {
        let ok = match types {
            Value::String(t) => type_matches(t, value),
            Value::Array(ts) => ts
                .iter()
                .any(|t| type_matches(t.as_str().expect("type name"), value)),
            _ => panic!("bad type in schema"),
        };
        if !ok {
            problems.push(format!("{path}: {value} is not of type {types}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        problems.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time")
        && let Some(text) = value.as_str()
        && crate::time::parse_time(text).is_none()
    {
        problems.push(format!("{path}: {text} is not a date-time"));
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{path}[{i}]"), problems);
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().expect("name");
            if !object.contains_key(name) {
                problems.push(format!("{path}.{name}: required but absent"));
            }
        }
        for (name, member) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(member_schema) => check(
                    doc,
                    member_schema,
                    member,
                    &format!("{path}.{name}"),
                    problems,
                ),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    problems.push(format!("{path}.{name}: not in the schema"));
                }
                None => {}
            }
        }
    }
}

/// Asserts that `reply` is documented for `method path` (the route template) and that its
/// JSON body matches the documented schema.
#[track_caller]
pub(crate) fn assert_documented(method: &Method, path: &str, reply: &Reply) {
    let doc = openapi_document();
    let operation = &doc["paths"][path][method.as_str().to_ascii_lowercase()];
    assert!(operation.is_object(), "{method} {path} is not documented");
    let status = reply.status.as_str();
    let response = &operation["responses"][status];
    assert!(
        response.is_object(),
        "{method} {path} does not document status {status}"
    );
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        let json_body = reply
            .headers
            .get("content-type")
            .is_some_and(|v| v == "application/json");
        assert!(
            !json_body,
            "{method} {path} {status}: JSON body not documented"
        );
        return;
    };
    let mut problems = Vec::new();
    check(doc, schema, &reply.json(), "$", &mut problems);
    assert!(
        problems.is_empty(),
        "{method} {path} {status}:\n{}",
        problems.join("\n")
    );
}

#[tokio::test]
async fn openapi_paths_and_methods_match_the_router_both_ways() {
    let h = Harness::new().await;
    let doc = openapi_document();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = h
        .routes
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(routed.len(), h.routes.len(), "a route is registered twice");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}

#[tokio::test]
async fn every_operation_documents_its_errors_with_the_error_schema() {
    let h = Harness::new().await;
    let doc = openapi_document();
    for route in &h.routes {
        let operation = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{} {} has no success response",
            route.method,
            route.path
        );
        let client_errors: Vec<&String> = responses.keys().filter(|s| s.starts_with('4')).collect();
        if route.access != Access::Public {
            assert!(
                responses.contains_key("401"),
                "{} {}: no 401",
                route.method,
                route.path
            );
            // Public routes say so; the others inherit the bearer requirement.
            assert!(
                operation.get("security").is_none(),
                "{} {}",
                route.method,
                route.path
            );
        } else {
            assert_eq!(
                operation["security"],
                serde_json::json!([]),
                "{} {}",
                route.method,
                route.path
            );
        }
        if route.access == Access::Admin {
            assert!(
                responses.contains_key("403"),
                "{} {}: no 403",
                route.method,
                route.path
            );
        }
        for status in client_errors {
            assert_eq!(
                responses[status].pointer("/content/application~1json/schema/$ref"),
                Some(&Value::from("#/components/schemas/Error")),
                "{} {} {status}",
                route.method,
                route.path
            );
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "415"] {
                assert!(
                    responses.contains_key(status),
                    "{} {}: body without {status}",
                    route.method,
                    route.path
                );
            }
        }
    }
}

#[tokio::test]
async fn every_schema_reference_resolves() {
    fn walk(doc: &Value, value: &Value) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                    let pointer = reference.strip_prefix('#').expect("local");
                    assert!(doc.pointer(pointer).is_some(), "dangling {reference}");
                }
                map.values().for_each(|v| walk(doc, v));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(doc, v)),
            _ => {}
        }
    }
    let doc = openapi_document();
    assert_eq!(doc["openapi"], "3.1.0");
    walk(doc, doc);
}

#[tokio::test]
async fn the_document_is_served_to_signed_in_callers() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let reply = h.get("/api/openapi.json", &token).await;
    assert_eq!(reply.status, 200);
    assert_eq!(&reply.json(), openapi_document());
    assert_documented(&Method::GET, "/api/openapi.json", &reply);
}

#[test]
fn the_checker_finds_problems() {
    let doc = openapi_document();
    let schema = serde_json::json!({ "$ref": "#/components/schemas/Admin" });
    let mut problems = Vec::new();
    let bad = serde_json::json!({ "name": 1, "created_at": "yesterday", "extra": true });
    check(doc, &schema, &bad, "$", &mut problems);
    let text = problems.join("\n");
    for expected in ["$.name", "$.created_at", "$.extra", "$.enabled: required"] {
        assert!(text.contains(expected), "{expected} missing in {text}");
    }
}
