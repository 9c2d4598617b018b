-- Switchboard schema 0005 (PostgreSQL): the nodes of a cluster, and notifications that tell
-- every node at once what another one changed (LISTEN/NOTIFY, delivered at commit).
-- Same numbering and meaning as migrations/sqlite/0005_cluster.sql.

-- One row per node that has run against this database. A node writes its row at start-up,
-- refreshes seen_at every second and deletes it when it stops; a row whose seen_at is older
-- than a few seconds is a node that died. seen_at is the database's clock, so the nodes'
-- clocks never have to agree.
CREATE TABLE nodes (
    name        TEXT   PRIMARY KEY CHECK (length(name) > 0),
    -- ip:port where the other nodes reach the node's SIP UDP listener.
    sip_address TEXT   NOT NULL CHECK (length(sip_address) > 0),
    started_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL
);

-- Change counters now also notify: channel switchboard_changes, payload the counter's name.
CREATE OR REPLACE FUNCTION bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = TG_ARGV[0];
    PERFORM pg_notify('switchboard_changes', TG_ARGV[0]);
    RETURN NULL;
END;
$$;

-- Every written or deleted binding: channel switchboard_bindings, payload
-- "<W|D> <writer> <node> <updated_at> <aor> <binding_id>": written or deleted, the writing
-- connection's application_name (a node's is "switchboard/<node>"), the row's node (empty for
-- a node without a name), the row's updated_at, the AOR and the binding's id (the rest).
-- Identical payloads of one transaction arrive once.
CREATE FUNCTION notify_binding() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    writer TEXT := replace(current_setting('application_name'), ' ', '_');
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('switchboard_bindings', 'D ' || writer || ' ' || coalesce(OLD.node, '')
            || ' ' || OLD.updated_at || ' ' || OLD.aor || ' ' || OLD.binding_id);
    ELSE
        PERFORM pg_notify('switchboard_bindings', 'W ' || writer || ' ' || coalesce(NEW.node, '')
            || ' ' || NEW.updated_at || ' ' || NEW.aor || ' ' || NEW.binding_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER bindings_notify AFTER INSERT OR UPDATE OR DELETE ON bindings
    FOR EACH ROW EXECUTE FUNCTION notify_binding();

-- A new text of a dialplan file: channel switchboard_dialplans, payload the file's name.
CREATE FUNCTION notify_dialplan_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_dialplans', NEW.name);
    RETURN NULL;
END;
$$;

CREATE TRIGGER dialplan_versions_notify AFTER INSERT ON dialplan_versions
    FOR EACH ROW EXECUTE FUNCTION notify_dialplan_version();

-- A node started (again) or stopped: channel switchboard_nodes, payload its name. The
-- heartbeat (seen_at) notifies nobody.
CREATE FUNCTION notify_node() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('switchboard_nodes', OLD.name);
    ELSE
        PERFORM pg_notify('switchboard_nodes', NEW.name);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER nodes_notify AFTER INSERT OR DELETE OR UPDATE OF started_at, sip_address ON nodes
    FOR EACH ROW EXECUTE FUNCTION notify_node();
