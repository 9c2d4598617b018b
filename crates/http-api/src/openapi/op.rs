//! Building one operation of the document.

use serde_json::{Map, Value, json};

/// One operation under construction.
pub(super) struct Op(Map<String, Value>);

pub(super) fn op(summary: &str) -> Op {
    let mut map = Map::new();
    map.insert("summary".into(), json!(summary));
    map.insert("responses".into(), json!({}));
    Op(map)
}

pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

impl Op {
    /// No bearer token needed.
    pub(super) fn public(mut self) -> Self {
        self.0.insert("security".into(), json!([]));
        self
    }

    pub(super) fn param(
        mut self,
        location: &str,
        name: &str,
        schema: Value,
        description: &str,
    ) -> Self {
        let params = self
            .0
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("parameters is an array");
        let mut param = json!({
            "name": name,
            "in": location,
            "required": location == "path",
            "description": description,
        });
        param["schema"] = schema;
        params.push(param);
        self
    }

    pub(super) fn path(self, name: &str, description: &str) -> Self {
        self.param("path", name, json!({ "type": "string" }), description)
    }

    pub(super) fn query(self, name: &str, ty: &str, description: &str) -> Self {
        self.param("query", name, json!({ "type": ty }), description)
    }

    /// A JSON body of schema `name` (415 and the 400s come with it).
    pub(super) fn body(mut self, name: &str) -> Self {
        self.0.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": schema_ref(name) } } }),
        );
        self.errors(&[400, 413, 415])
    }

    pub(super) fn response(
        mut self,
        status: u16,
        description: &str,
        content: Option<Value>,
    ) -> Self {
        let mut response = json!({ "description": description });
        if let Some(content) = content {
            response["content"] = content;
        }
        self.0["responses"][status.to_string()] = response;
        self
    }

    /// A success answer with a JSON body of `schema`.
    pub(super) fn json(self, status: u16, schema: Value) -> Self {
        let mut content = json!({ "application/json": {} });
        content["application/json"]["schema"] = schema;
        self.response(status, "success", Some(content))
    }

    pub(super) fn returns(self, status: u16, name: &str) -> Self {
        self.json(status, schema_ref(name))
    }

    pub(super) fn returns_list(self, name: &str) -> Self {
        self.json(200, json!({ "type": "array", "items": schema_ref(name) }))
    }

    pub(super) fn no_content(self) -> Self {
        self.response(204, "done", None)
    }

    /// Error answers (the error body).
    pub(super) fn errors(mut self, statuses: &[u16]) -> Self {
        for &status in statuses {
            let description = match status {
                400 => "invalid request (malformed JSON, unknown, missing or invalid field)",
                401 => "no valid bearer token",
                403 => "not allowed for this account or source address",
                404 => "no such resource",
                409 => "conflicts with existing state",
                413 => "body too large",
                415 => "body is not application/json",
                422 => "the dialplan does not compile (details lists the diagnostics)",
                429 => "too many failed logins (see Retry-After)",
                503 => "a dependency is unavailable",
                _ => "error",
            };
            self = self.response(
                status,
                description,
                Some(json!({ "application/json": { "schema": schema_ref("Error") } })),
            );
        }
        self
    }

    /// A route for signed-in accounts (401), admins only (403).
    pub(super) fn admin(self) -> Self {
        self.errors(&[401, 403, 503])
    }

    pub(super) fn signed(self) -> Self {
        self.errors(&[401, 503])
    }
}

pub(super) fn add(paths: &mut Map<String, Value>, path: &str, method: &str, op: Op) {
    let item = paths.entry(path).or_insert_with(|| json!({}));
    item[method] = Value::Object(op.0);
}
