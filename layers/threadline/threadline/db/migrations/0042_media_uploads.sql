-- ---------------------------------------------------------------------------------------------------------------
-- Agents' uploads: `POST /v1/uploads` answers a presigned S3 POST whose policy pins the key, the Content-Type and
-- the size range of the file the agent declared; the row remembers what was declared, so a send `{media:
-- {upload_id}}` knows the file's key, type and name without trusting the client twice. An upload is usable until
-- `expires_at` (the bucket's lifecycle removes the object later).
--
-- A sent upload is also the message's kept medium: message_media gains the source kind `upload`, stored from the
-- start, so both message views list it like any kept medium (a presigned GET).
-- ---------------------------------------------------------------------------------------------------------------
CREATE TABLE media_uploads (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    uploaded_by uuid,
    file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 240),
    mime_type text NOT NULL,
    media_type text NOT NULL CHECK (media_type IN ('image', 'audio', 'video', 'document', 'sticker')),
    size_bytes bigint NOT NULL CHECK (size_bytes > 0),
    s3_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
SELECT threadline_enable_tenant_isolation('media_uploads');
GRANT SELECT, INSERT ON media_uploads TO threadline_app;

ALTER TABLE message_media DROP CONSTRAINT message_media_source_kind_check;
ALTER TABLE message_media ADD CONSTRAINT message_media_source_kind_check
    CHECK (source_kind IN ('channel', 'url', 'upload'));
