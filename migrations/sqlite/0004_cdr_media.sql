-- Switchboard schema 0004 (SQLite): what call records say about media. Calls the switch
-- answers itself (echo, tone) go to a destination of kind 'media'; why the switch ended a
-- call (end_reason, e.g. 'media_timeout'); the media gateway's summary of the call (media,
-- JSON text written by the server, kept as given).
-- Same numbering and meaning as migrations/postgres/0004_cdr_media.sql.

-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (same columns in
-- the same order, the two new ones at the end), its rows copied with their ids, the
-- AUTOINCREMENT high-water mark carried over, and its indexes created again.
CREATE TABLE cdrs_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SIP Call-ID of the caller's leg.
    call_id          TEXT    NOT NULL CHECK (length(call_id) > 0),
    caller           TEXT    NOT NULL,
    caller_domain    TEXT    NOT NULL,
    callee           TEXT    NOT NULL,
    -- The number as dialed, before any rewriting.
    dialed           TEXT    NOT NULL,
    source_kind      TEXT    NOT NULL CHECK (source_kind IN ('user', 'trunk')),
    source_name      TEXT    NOT NULL CHECK (length(source_name) > 0),
    destination_kind TEXT    NOT NULL
        CHECK (destination_kind IN ('user', 'trunk', 'media', 'none')),
    destination_name TEXT    CHECK (length(destination_name) > 0),
    start_at         INTEGER NOT NULL,
    answer_at        INTEGER,
    end_at           INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL GENERATED ALWAYS AS (end_at - start_at) STORED,
    billable_ms      INTEGER NOT NULL GENERATED ALWAYS AS (coalesce(end_at - answer_at, 0)) STORED,
    disposition      TEXT    NOT NULL
        CHECK (disposition IN ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CANCELLED')),
    -- Final SIP status code of the call (RFC 3261 §21).
    sip_status       INTEGER NOT NULL CHECK (sip_status BETWEEN 100 AND 699),
    hangup_by        TEXT    NOT NULL CHECK (hangup_by IN ('caller', 'callee', 'system')),
    -- Cluster node that handled the call, if any.
    node             TEXT,
    -- Why the switch ended the call, when hangup_by does not say it all ('media_timeout').
    end_reason       TEXT    CHECK (length(end_reason) > 0),
    -- The media gateway's summary of the call (JSON text), if it carried the media.
    media            TEXT,
    CHECK ((destination_kind = 'none') = (destination_name IS NULL)),
    CHECK (end_at >= start_at),
    CHECK (answer_at IS NULL OR answer_at BETWEEN start_at AND end_at),
    CHECK ((disposition = 'ANSWERED') = (answer_at IS NOT NULL))
);

INSERT INTO cdrs_new
    (id, call_id, caller, caller_domain, callee, dialed, source_kind, source_name,
     destination_kind, destination_name, start_at, answer_at, end_at, disposition,
     sip_status, hangup_by, node)
SELECT id, call_id, caller, caller_domain, callee, dialed, source_kind, source_name,
       destination_kind, destination_name, start_at, answer_at, end_at, disposition,
       sip_status, hangup_by, node
FROM cdrs;

-- Ids are never reused, even those of rows deleted by hand.
DELETE FROM sqlite_sequence WHERE name = 'cdrs_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'cdrs_new', seq FROM sqlite_sequence WHERE name = 'cdrs';

DROP TABLE cdrs;
ALTER TABLE cdrs_new RENAME TO cdrs;

-- The indexes of 0002 and 0003, unchanged.
CREATE INDEX cdrs_start ON cdrs (start_at, id);
CREATE INDEX cdrs_caller ON cdrs (caller, start_at, id);
CREATE INDEX cdrs_callee ON cdrs (callee, start_at, id);
CREATE INDEX cdrs_disposition ON cdrs (disposition, start_at, id);
CREATE INDEX cdrs_source_name ON cdrs (source_name, start_at, id);
CREATE INDEX cdrs_destination_name ON cdrs (destination_name, start_at, id);
