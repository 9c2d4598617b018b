-- Switchboard schema 0004 (PostgreSQL): what call records say about media. Calls the switch
-- answers itself (echo, tone) go to a destination of kind 'media'; why the switch ended a
-- call (end_reason, e.g. 'media_timeout'); the media gateway's summary of the call (media,
-- JSON text written by the server, kept as given).
-- Same numbering and meaning as migrations/sqlite/0004_cdr_media.sql.

ALTER TABLE cdrs DROP CONSTRAINT cdrs_destination_kind_check;
ALTER TABLE cdrs ADD CONSTRAINT cdrs_destination_kind_check
    CHECK (destination_kind IN ('user', 'trunk', 'media', 'none'));

-- Why the switch ended the call, when hangup_by does not say it all ('media_timeout').
ALTER TABLE cdrs ADD COLUMN end_reason TEXT CHECK (length(end_reason) > 0);
-- The media gateway's summary of the call (JSON text), if it carried the media.
ALTER TABLE cdrs ADD COLUMN media TEXT;
