//! The OpenAPI 3.1 document served at `/api/openapi.json`, written out operation by
//! operation (not derived from the router: a test compares the two in both directions,
//! so neither can drift from the other).

mod op;
mod schemas;

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use op::{Op, add, op, schema_ref};

/// The document.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

/// The document as served.
pub(crate) fn document_bytes() -> &'static Bytes {
    static BYTES: OnceLock<Bytes> = OnceLock::new();
    BYTES.get_or_init(|| {
        Bytes::from(serde_json::to_vec_pretty(document()).expect("a Value always serializes"))
    })
}

#[allow(clippy::too_many_lines)]
fn build() -> Value {
    let mut p = Map::new();
    let cdr_filters = |op: Op| {
        op.query(
            "from",
            "string",
            "calls started at or after (RFC 3339 or unix seconds)",
        )
        .query(
            "to",
            "string",
            "calls started before (RFC 3339 or unix seconds)",
        )
        .query("caller", "string", "caller is exactly this")
        .query("callee", "string", "callee is exactly this")
        .query("party", "string", "caller or callee is this")
        .query(
            "disposition",
            "string",
            "ANSWERED, NO ANSWER, BUSY, FAILED or CANCELLED",
        )
        .query("trunk", "string", "came from or went to this trunk")
        .query(
            "min_duration",
            "integer",
            "at least this many billable seconds",
        )
        .errors(&[400])
    };

    add(
        &mut p,
        "/api/login",
        "post",
        op("Sign in (admin account or SIP user)")
            .public()
            .body("LoginRequest")
            .returns(200, "LoginResponse")
            .errors(&[401, 403, 429, 503]),
    );
    add(
        &mut p,
        "/api/logout",
        "post",
        op("Revoke the bearer token").no_content().signed(),
    );
    add(
        &mut p,
        "/api/me",
        "get",
        op("The signed-in account").returns(200, "Me").signed(),
    );
    add(
        &mut p,
        "/api/tokens",
        "get",
        op("The admin's API tokens").returns_list("Token").admin(),
    );
    add(
        &mut p,
        "/api/tokens",
        "post",
        op("Create an API token (shown once)")
            .body("NewToken")
            .returns(201, "CreatedToken")
            .admin(),
    );
    add(
        &mut p,
        "/api/tokens/{id}",
        "delete",
        op("Revoke an API token")
            .path("id", "token id")
            .no_content()
            .admin()
            .errors(&[400, 404]),
    );

    add(
        &mut p,
        "/api/admins",
        "get",
        op("List admin accounts").returns_list("Admin").admin(),
    );
    add(
        &mut p,
        "/api/admins",
        "post",
        op("Create an admin account")
            .body("NewAdmin")
            .returns(201, "Admin")
            .admin()
            .errors(&[409]),
    );
    add(
        &mut p,
        "/api/admins/{name}",
        "patch",
        op("Change an admin's password or enabled flag")
            .path("name", "admin name")
            .body("AdminChanges")
            .returns(200, "Admin")
            .admin()
            .errors(&[404, 409]),
    );
    add(
        &mut p,
        "/api/admins/{name}",
        "delete",
        op("Delete an admin account (not the last enabled one)")
            .path("name", "admin name")
            .no_content()
            .admin()
            .errors(&[404, 409]),
    );

    let user = "`name` (default domain) or `name@domain`";
    add(
        &mut p,
        "/api/users",
        "get",
        op("List SIP users")
            .query("search", "string", "in user or display name")
            .query("domain", "string", "only this domain")
            .query("group", "string", "only members of this group")
            .query("limit", "integer", "1 to 1000, default 100")
            .query("offset", "integer", "skip this many")
            .returns(200, "UserPage")
            .admin()
            .errors(&[400]),
    );
    add(
        &mut p,
        "/api/users",
        "post",
        op("Create a SIP user")
            .body("NewUser")
            .returns(201, "User")
            .admin()
            .errors(&[409]),
    );
    add(
        &mut p,
        "/api/users/{user}",
        "get",
        op("One SIP user")
            .path("user", user)
            .returns(200, "User")
            .admin()
            .errors(&[400, 404]),
    );
    add(
        &mut p,
        "/api/users/{user}",
        "patch",
        op("Change a SIP user")
            .path("user", user)
            .body("UserChanges")
            .returns(200, "User")
            .admin()
            .errors(&[404, 409]),
    );
    add(
        &mut p,
        "/api/users/{user}",
        "delete",
        op("Delete a SIP user")
            .path("user", user)
            .no_content()
            .admin()
            .errors(&[400, 404]),
    );

    for (base, item, input, what) in [
        ("/api/groups", "Group", "GroupInput", "call group"),
        ("/api/acls", "Acl", "AclInput", "access list"),
        ("/api/trunks", "Trunk", "TrunkInput", "trunk"),
    ] {
        let one = format!("{base}/{{name}}");
        add(
            &mut p,
            base,
            "get",
            op(&format!("List {what}s")).returns_list(item).admin(),
        );
        add(
            &mut p,
            base,
            "post",
            op(&format!("Create a {what}"))
                .body(input)
                .returns(201, item)
                .admin()
                .errors(&[409]),
        );
        add(
            &mut p,
            &one,
            "get",
            op(&format!("One {what}"))
                .path("name", "name")
                .returns(200, item)
                .admin()
                .errors(&[404]),
        );
        add(
            &mut p,
            &one,
            "put",
            op(&format!("Replace a {what}"))
                .path("name", "name")
                .body(input)
                .returns(200, item)
                .admin()
                .errors(&[404, 409]),
        );
        add(
            &mut p,
            &one,
            "delete",
            op(&format!("Delete a {what}"))
                .path("name", "name")
                .no_content()
                .admin()
                .errors(&[404, 409]),
        );
    }

    add(
        &mut p,
        "/api/dialplans",
        "get",
        op("List dialplan files")
            .returns_list("DialplanListed")
            .admin(),
    );
    add(
        &mut p,
        "/api/dialplans/{name}",
        "get",
        op("One dialplan file")
            .path("name", "file name")
            .returns(200, "Dialplan")
            .admin()
            .errors(&[400, 404]),
    );
    add(
        &mut p,
        "/api/dialplans/{name}",
        "put",
        op("Validate, save and apply a dialplan file")
            .path("name", "file name")
            .query("dry_run", "boolean", "only validate")
            .body("DialplanSave")
            .returns(200, "DialplanSaved")
            .admin()
            .errors(&[422]),
    );
    add(
        &mut p,
        "/api/dialplans/{name}",
        "delete",
        op("Delete a dialplan file")
            .path("name", "file name")
            .no_content()
            .admin()
            .errors(&[400, 404, 422]),
    );
    add(
        &mut p,
        "/api/dialplans/{name}/versions",
        "get",
        op("The file's recorded versions, newest first")
            .path("name", "file name")
            .returns_list("DialplanVersionInfo")
            .admin()
            .errors(&[400]),
    );
    add(
        &mut p,
        "/api/dialplans/{name}/versions/{version}",
        "get",
        op("One recorded version")
            .path("name", "file name")
            .path("version", "version number")
            .returns(200, "DialplanVersion")
            .admin()
            .errors(&[400, 404]),
    );
    add(
        &mut p,
        "/api/dialplans/{name}/versions/{version}/restore",
        "post",
        op("Save and apply a recorded version again")
            .path("name", "file name")
            .path("version", "version number")
            .returns(200, "DialplanSaved")
            .admin()
            .errors(&[400, 404, 422]),
    );
    add(
        &mut p,
        "/api/dialplans/test",
        "post",
        op("Route a call through the running plan without placing it")
            .body("RouteTest")
            .returns(200, "RouteTestResult")
            .admin(),
    );

    let cdrs = cdr_filters(op("Call records, one page (or every match as CSV)"))
        .query("sort", "string", "asc or desc (default)")
        .query("limit", "integer", "1 to 1000, default 100")
        .query("cursor", "string", "next_cursor of the previous page")
        .query("format", "string", "csv or json (or Accept: text/csv)")
        .response(
            200,
            "a page, or CSV",
            Some(json!({
                "application/json": { "schema": schema_ref("CdrPage") },
                "text/csv": { "schema": { "type": "string" } },
            })),
        )
        .signed();
    add(&mut p, "/api/cdrs", "get", cdrs);
    add(
        &mut p,
        "/api/cdrs/summary",
        "get",
        cdr_filters(op(
            "Calls, answer-seizure ratio and average duration per day",
        ))
        .query(
            "tz_offset",
            "integer",
            "minutes east of UTC for day boundaries",
        )
        .returns(200, "CdrSummary")
        .signed(),
    );

    add(
        &mut p,
        "/api/registrations",
        "get",
        op("Registration bindings")
            .query("user", "string", user)
            .returns_list("Registration")
            .signed()
            .errors(&[400]),
    );
    add(
        &mut p,
        "/api/registrations/{aor}/{binding_id}",
        "delete",
        op("Remove a binding")
            .path("aor", "address of record (percent-encoded)")
            .path("binding_id", "binding id")
            .no_content()
            .admin()
            .errors(&[404]),
    );
    add(
        &mut p,
        "/api/calls",
        "get",
        op("Calls in progress").returns_list("LiveCall").admin(),
    );
    add(
        &mut p,
        "/api/calls/{id}",
        "delete",
        op("Hang a call up")
            .path("id", "Call-ID of the caller's leg")
            .no_content()
            .admin()
            .errors(&[404]),
    );

    add(
        &mut p,
        "/api/bans",
        "get",
        op("Bans in force: SIP sources dropped, user names under watch")
            .returns_list("Ban")
            .admin(),
    );
    add(
        &mut p,
        "/api/bans/{kind}/{key}",
        "delete",
        op("Lift a ban")
            .path("kind", "source or user")
            .path(
                "key",
                "an IP address (an IPv6 source: any address of its /64, or the /64 as listed), or a user name",
            )
            .no_content()
            .admin()
            .errors(&[400, 404]),
    );

    add(
        &mut p,
        "/api/openapi.json",
        "get",
        op("This document")
            .json(200, json!({ "type": "object" }))
            .signed(),
    );
    add(
        &mut p,
        "/healthz",
        "get",
        op("Health").public().returns(200, "Health").response(
            503,
            "unhealthy",
            Some(json!({ "application/json": { "schema": schema_ref("Health") } })),
        ),
    );
    add(
        &mut p,
        "/readyz",
        "get",
        op("Readiness: whether this node should receive traffic")
            .public()
            .returns(200, "Readiness")
            .response(
                503,
                "not ready (database or SIP task not answering, or draining)",
                Some(json!({ "application/json": { "schema": schema_ref("Readiness") } })),
            ),
    );
    add(
        &mut p,
        "/metrics",
        "get",
        op("Prometheus metrics")
            .public()
            .response(
                200,
                "text exposition format",
                Some(json!({ "text/plain": { "schema": { "type": "string" } } })),
            )
            .errors(&[403]),
    );
    for (page, page_summary, files, files_summary) in [
        (
            "/",
            "The web console",
            "/assets/{file}",
            "A file of the web console",
        ),
        (
            "/phone",
            "The browser phone",
            "/phone/{file}",
            "A file of the browser phone (its script, style, and the JsSIP library)",
        ),
    ] {
        add(
            &mut p,
            page,
            "get",
            op(page_summary)
                .public()
                .response(
                    200,
                    "HTML page",
                    Some(json!({ "text/html": { "schema": { "type": "string" } } })),
                )
                .response(304, "not modified (If-None-Match)", None),
        );
        add(
            &mut p,
            files,
            "get",
            op(files_summary)
                .public()
                .path("file", "file name")
                .response(200, "the file", None)
                .response(304, "not modified (If-None-Match)", None)
                .errors(&[404]),
        );
    }

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Administration of a Switchboard softswitch. Every /api route except POST /api/login needs `Authorization: Bearer <token>`. Errors are `{\"error\":{\"code\",\"message\",\"field\"?,\"details\"?}}`; times are RFC 3339 UTC strings.",
        },
        "security": [{ "bearer": [] }],
        "paths": p,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas::schemas(),
        },
    })
}
