//! The `components/schemas` of the OpenAPI document: every body the API reads or writes.
//! Objects list every member (`additionalProperties: false`), so the tests that check
//! real responses against these schemas catch an undocumented member too.

use serde_json::{Map, Value, json};

/// A JSON Schema type, nullable with `?` (`"string?"` → `["string", "null"]`).
fn ty(t: &str) -> Value {
    match t.strip_suffix('?') {
        Some(t) => json!({ "type": [t, "null"] }),
        None => json!({ "type": t }),
    }
}

fn time(nullable: bool) -> Value {
    let mut schema = ty(if nullable { "string?" } else { "string" });
    schema["format"] = json!("date-time");
    schema
}

fn array(items: Value) -> Value {
    let mut schema = Map::new();
    schema.insert("type".into(), json!("array"));
    schema.insert("items".into(), items);
    Value::Object(schema)
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// An object with `members` (name, schema, required).
fn object(members: &[(&str, Value, bool)]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, schema, is_required) in members {
        properties.insert((*name).to_owned(), schema.clone());
        if *is_required {
            required.push(json!(name));
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// Required member.
fn r(name: &str, schema: Value) -> (&str, Value, bool) {
    (name, schema, true)
}

/// Optional member.
fn o(name: &str, schema: Value) -> (&str, Value, bool) {
    (name, schema, false)
}

fn strings() -> Value {
    array(ty("string"))
}

/// Every schema, by name.
pub(super) fn schemas() -> Value {
    let s = || ty("string");
    let s_null = || ty("string?");
    let int = || ty("integer");
    let boolean = || ty("boolean");
    let num = || ty("number");
    // A call's media figures (live calls and call records); null before
    // negotiation and on records written before the gateway kept them.
    let mut media_stats = object(&[
        r("path", s()),
        r(
            "legs",
            array(object(&[
                r("leg", s()),
                r("codec", s_null()),
                r("packets_received", int()),
                r("packets_sent", int()),
                r("bytes_received", int()),
                r("bytes_sent", int()),
                r("packets_lost", int()),
                r("jitter_ms", num()),
                r("frames_decoded", int()),
                r("frames_encoded", int()),
                r("srtp", boolean()),
            ])),
        ),
    ]);
    media_stats["type"] = json!(["object", "null"]);
    let diagnostic = object(&[
        r("file", s()),
        r("line", int()),
        r("column", int()),
        r("message", s()),
    ]);
    let error_body = object(&[
        r(
            "code",
            json!({ "type": "string", "enum": crate::error::ErrorCode::ALL.map(|c| c.as_str()) }),
        ),
        r("message", s()),
        o("field", s()),
        o("details", array(reference("Diagnostic"))),
    ]);
    let trunk_settings = [
        r("gateway", s_null()),
        r(
            "transport",
            json!({ "type": "string", "enum": ["udp", "tcp"] }),
        ),
        r("addresses", strings()),
        r("acl", s_null()),
        r("context", s()),
        r("username", s_null()),
        r("password_set", boolean()),
        r("register", boolean()),
        r("register_expires", int()),
        r("from_user", s_null()),
        r("from_domain", s_null()),
        r("enabled", boolean()),
    ];
    let mut trunk = vec![r("name", s())];
    trunk.extend(trunk_settings);
    trunk.push(r(
        "source",
        json!({ "type": "string", "enum": ["api", "config"] }),
    ));
    trunk.push(r("state", object(&[
        r("registration", json!({ "type": "string", "enum": ["registered", "registering", "failed", "unregistered", "not_registering"] })),
        o("detail", s()),
        o("expires_in", int()),
    ])));
    let party = object(&[r("kind", s()), r("name", s_null())]);
    let pairs: Vec<(&str, Value)> = vec![
        ("Diagnostic", diagnostic),
        ("Error", object(&[r("error", error_body)])),
        (
            "LoginRequest",
            object(&[r("username", s()), r("password", s())]),
        ),
        (
            "LoginResponse",
            object(&[
                r("token", s()),
                r(
                    "role",
                    json!({ "type": "string", "enum": ["admin", "user"] }),
                ),
                r("name", s()),
                o("domain", s()),
                r("expires_at", time(false)),
            ]),
        ),
        (
            "Me",
            object(&[
                r(
                    "role",
                    json!({ "type": "string", "enum": ["admin", "user"] }),
                ),
                r("name", s()),
                o("domain", s()),
            ]),
        ),
        (
            "Token",
            object(&[
                r("id", int()),
                r("name", s_null()),
                r("created_at", time(false)),
                r("expires_at", time(true)),
                r("last_used_at", time(true)),
            ]),
        ),
        (
            "NewToken",
            object(&[r("name", s()), o("expires_in_days", int())]),
        ),
        (
            "CreatedToken",
            object(&[
                r("id", int()),
                r("name", s_null()),
                r("token", s()),
                r("created_at", time(false)),
                r("expires_at", time(true)),
            ]),
        ),
        (
            "Admin",
            object(&[
                r("name", s()),
                r("enabled", boolean()),
                r("created_at", time(false)),
            ]),
        ),
        ("NewAdmin", object(&[r("name", s()), r("password", s())])),
        (
            "AdminChanges",
            object(&[o("password", s()), o("enabled", boolean())]),
        ),
        (
            "User",
            object(&[
                r("username", s()),
                r("domain", s()),
                r("display_name", s_null()),
                r("extension", s_null()),
                r("enabled", boolean()),
                r("groups", strings()),
                r("context", s_null()),
                r("allow", strings()),
                r("deny", strings()),
                r("created_at", time(false)),
                r("updated_at", time(false)),
            ]),
        ),
        (
            "UserPage",
            object(&[r("items", array(reference("User"))), r("total", int())]),
        ),
        (
            "NewUser",
            object(&[
                r("username", s()),
                o("domain", s_null()),
                r("password", s()),
                o("display_name", s_null()),
                o("extension", s_null()),
                o("enabled", boolean()),
                o("groups", strings()),
                o("context", s_null()),
                o("allow", strings()),
                o("deny", strings()),
            ]),
        ),
        (
            "UserChanges",
            object(&[
                o("password", s()),
                o("display_name", s_null()),
                o("extension", s_null()),
                o("enabled", boolean()),
                o("groups", strings()),
                o("context", s_null()),
                o("allow", strings()),
                o("deny", strings()),
            ]),
        ),
        (
            "Group",
            object(&[
                r("name", s()),
                r("description", s_null()),
                r("context", s_null()),
                r("allow", strings()),
                r("deny", strings()),
                o("members", int()),
            ]),
        ),
        (
            "GroupInput",
            object(&[
                o("name", s()),
                o("description", s_null()),
                o("context", s_null()),
                o("allow", strings()),
                o("deny", strings()),
            ]),
        ),
        (
            "Acl",
            object(&[
                r("name", s()),
                r("description", s_null()),
                r("cidrs", strings()),
                o("used_by", strings()),
            ]),
        ),
        (
            "AclInput",
            object(&[
                o("name", s()),
                o("description", s_null()),
                r("cidrs", strings()),
            ]),
        ),
        ("Trunk", object(&trunk)),
        (
            "TrunkInput",
            object(&[
                o("name", s()),
                o("gateway", s_null()),
                o(
                    "transport",
                    json!({ "type": ["string", "null"], "enum": ["udp", "tcp", null] }),
                ),
                o("addresses", strings()),
                o("acl", s_null()),
                o("context", s_null()),
                o("username", s_null()),
                o("password", s_null()),
                o("register", boolean()),
                o("register_expires", int()),
                o("from_user", s_null()),
                o("from_domain", s_null()),
                o("enabled", boolean()),
            ]),
        ),
        (
            "DialplanListed",
            object(&[
                r("name", s()),
                r("version", int()),
                r("updated_at", time(false)),
                r("size", int()),
            ]),
        ),
        (
            "Dialplan",
            object(&[
                r("name", s()),
                r("content", s()),
                r("version", int()),
                r("updated_at", time(false)),
            ]),
        ),
        ("DialplanSave", object(&[r("content", s())])),
        (
            "DialplanSaved",
            object(&[r("name", s()), r("version", int()), r("applied", boolean())]),
        ),
        (
            "DialplanVersionInfo",
            object(&[
                r("version", int()),
                r("author", s()),
                r("created_at", time(false)),
                r("size", int()),
            ]),
        ),
        (
            "DialplanVersion",
            object(&[
                r("name", s()),
                r("version", int()),
                r("content", s()),
                r("author", s()),
                r("created_at", time(false)),
            ]),
        ),
        (
            "RouteTest",
            object(&[
                r("from", s()),
                r("to", s()),
                o("source", s_null()),
                o("at", s_null()),
                o("context", s_null()),
            ]),
        ),
        (
            "RouteTestResult",
            object(&[r("outcome", s()), r("explanation", s())]),
        ),
        (
            "Cdr",
            object(&[
                r("id", int()),
                r("call_id", s()),
                r("caller", s()),
                r("caller_domain", s()),
                r("callee", s()),
                r("dialed", s()),
                r("source", party.clone()),
                r("destination", party),
                r("start_at", time(false)),
                r("answer_at", time(true)),
                r("end_at", time(false)),
                r("duration", num()),
                r("billable", num()),
                r(
                    "disposition",
                    json!({ "type": "string", "enum": sb_store::Disposition::ALL.map(|d| d.as_str()) }),
                ),
                r("sip_status", int()),
                r(
                    "hangup_by",
                    json!({ "type": "string", "enum": sb_store::HangupBy::ALL.map(|h| h.as_str()) }),
                ),
                r("node", s_null()),
                r("end_reason", s_null()),
                r("media", media_stats.clone()),
            ]),
        ),
        (
            "CdrPage",
            object(&[
                r("items", array(reference("Cdr"))),
                r("next_cursor", s_null()),
            ]),
        ),
        (
            "CdrSummary",
            object(&[r(
                "days",
                array(object(&[
                    r("day", s()),
                    r("calls", int()),
                    r("answered", int()),
                    r("asr", num()),
                    r("acd", num()),
                ])),
            )]),
        ),
        (
            "Registration",
            object(&[
                r("aor", s()),
                r("user", s()),
                r("domain", s()),
                r("binding_id", s()),
                r("contact", s()),
                r("transport", s()),
                r("source", s()),
                r("user_agent", s_null()),
                r("expires_in", int()),
                r("expires_at", time(false)),
                r("node", s_null()),
            ]),
        ),
        (
            "LiveCall",
            object(&[
                r("id", s()),
                r("caller", s()),
                r("callee", s()),
                r("state", s()),
                r("started_at", time(false)),
                r("answered_at", time(true)),
                r("duration", num()),
                r(
                    "legs",
                    array(object(&[
                        r("role", s()),
                        r("peer", s()),
                        r("transport", s()),
                        r("state", s()),
                        r("codec", s_null()),
                    ])),
                ),
                r("media", media_stats.clone()),
            ]),
        ),
        (
            "Ban",
            object(&[
                r(
                    "kind",
                    json!({ "type": "string", "enum": ["source", "user"] }),
                ),
                r("key", s()),
                r(
                    "reason",
                    json!({ "type": "string", "enum": ["rate", "auth"] }),
                ),
                r("since", time(false)),
                r("expires", time(false)),
                r("drops", int()),
            ]),
        ),
        ("Health", health(["ok", "unavailable"])),
        ("Readiness", health(["ready", "not_ready"])),
    ];
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// `/healthz` and `/readyz` answer alike but for their status words.
fn health(words: [&str; 2]) -> Value {
    object(&[
        r("status", json!({ "type": "string", "enum": words })),
        o("node", ty("string")),
        r(
            "checks",
            array(object(&[
                r("name", ty("string")),
                r("ok", ty("boolean")),
                o("detail", ty("string")),
            ])),
        ),
    ])
}
