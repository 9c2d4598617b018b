-- Switchboard schema 0002 (PostgreSQL): call-detail records and dialplan documents.
-- Same numbering and meaning as migrations/sqlite/0002_cdrs_and_dialplans.sql.
-- Times are UTC instants as unix milliseconds in BIGINT.

-- One row per call, written when the call ends. Rows are only inserted (never updated).
CREATE TABLE cdrs (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SIP Call-ID of the caller's leg.
    call_id          TEXT    NOT NULL CHECK (length(call_id) > 0),
    caller           TEXT    NOT NULL,
    caller_domain    TEXT    NOT NULL,
    callee           TEXT    NOT NULL,
    -- The number as dialed, before any rewriting.
    dialed           TEXT    NOT NULL,
    source_kind      TEXT    NOT NULL CHECK (source_kind IN ('user', 'trunk')),
    source_name      TEXT    NOT NULL CHECK (length(source_name) > 0),
    destination_kind TEXT    NOT NULL CHECK (destination_kind IN ('user', 'trunk', 'none')),
    destination_name TEXT    CHECK (length(destination_name) > 0),
    start_at         BIGINT  NOT NULL,
    answer_at        BIGINT,
    end_at           BIGINT  NOT NULL,
    duration_ms      BIGINT  NOT NULL GENERATED ALWAYS AS (end_at - start_at) STORED,
    billable_ms      BIGINT  NOT NULL GENERATED ALWAYS AS (coalesce(end_at - answer_at, 0)) STORED,
    disposition      TEXT    NOT NULL
        CHECK (disposition IN ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CANCELLED')),
    -- Final SIP status code of the call (RFC 3261 §21).
    sip_status       INTEGER NOT NULL CHECK (sip_status BETWEEN 100 AND 699),
    hangup_by        TEXT    NOT NULL CHECK (hangup_by IN ('caller', 'callee', 'system')),
    -- Cluster node that handled the call, if any.
    node             TEXT,
    CHECK ((destination_kind = 'none') = (destination_name IS NULL)),
    CHECK (end_at >= start_at),
    CHECK (answer_at IS NULL OR answer_at BETWEEN start_at AND end_at),
    CHECK ((disposition = 'ANSWERED') = (answer_at IS NOT NULL))
);

-- Listings are newest first with a (start_at, id) cursor: every index ends in those two
-- columns so a filtered page is one range scan.
CREATE INDEX cdrs_start ON cdrs (start_at, id);
CREATE INDEX cdrs_caller ON cdrs (caller, start_at, id);
CREATE INDEX cdrs_callee ON cdrs (callee, start_at, id);
CREATE INDEX cdrs_disposition ON cdrs (disposition, start_at, id);

-- Dialplan documents, edited through the API. The text is stored as given; checking it
-- is the dialplan compiler's job.
CREATE TABLE dialplans (
    name       TEXT    PRIMARY KEY CHECK (length(name) > 0),
    content    TEXT    NOT NULL,
    -- 1 when created, plus one on every write (optimistic concurrency).
    version    BIGINT  NOT NULL CHECK (version >= 1),
    updated_at BIGINT  NOT NULL
);

INSERT INTO generations (name, value) VALUES ('dialplans', 0);

CREATE TRIGGER dialplans_generation AFTER INSERT OR UPDATE OR DELETE ON dialplans
    FOR EACH ROW EXECUTE FUNCTION bump_generation('dialplans');
