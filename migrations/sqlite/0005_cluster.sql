-- Switchboard schema 0005 (SQLite): the nodes table. A SQLite database serves one node, so
-- it holds at most that node's row; PostgreSQL adds change notifications for clusters.
-- Same numbering and meaning as migrations/postgres/0005_cluster.sql.

CREATE TABLE nodes (
    name        TEXT    PRIMARY KEY CHECK (length(name) > 0),
    -- ip:port where the other nodes reach the node's SIP UDP listener.
    sip_address TEXT    NOT NULL CHECK (length(sip_address) > 0),
    started_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL
);
