-- A connector's media_url is listed as the connector gave it, unless its connection opts in (`threadline connection
-- update ID --copy-media on`): then each ingested message with a media_url gets a pending message_media row of
-- source kind `url` in the ingest's transaction, copied into the media bucket after the commit like WhatsApp's media
-- (the fetch under the outbound address rules: public https addresses only).
ALTER TABLE connections ADD COLUMN copy_media boolean NOT NULL DEFAULT false;
