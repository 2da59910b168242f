-- A customer's edits and revocations (WhatsApp's `edit` and `revoke` messages) change the message they name instead
-- of being messages of their own.
--
-- An edit replaces the message's content and sets `edited_at`; the text it replaced is kept in message_revisions.
-- A revocation sets `deleted_at` and hides the message wherever it is read: its content becomes '' (so search and
-- the event log no longer hold it), both message views show no attachment, typed data or ad, and the conversation's
-- preview of it is emptied. What it said is kept for audit in message_revisions as the tenant chooses
-- (`tenants.keep_revoked_content`, on by default); off, the revision keeps no text, the message keeps no media link,
-- payload, typed data or ad, and its earlier edits' texts are erased too.
ALTER TABLE messages
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN deleted_at timestamptz;

ALTER TABLE tenants
    ADD COLUMN keep_revoked_content boolean NOT NULL DEFAULT true;

CREATE TABLE message_revisions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    message_id       bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('edit', 'revoke')),
    -- What the message said before this change (NULL: erased, as the tenant chose for revoked messages).
    previous_content text,
    -- When the customer made the change (Meta's timestamp of the edit or revoke message).
    changed_at       timestamptz NOT NULL,
    -- The edit's or revocation's own wamid: Meta re-sending it changes nothing twice.
    meta_id          text NOT NULL CHECK (length(meta_id) > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, meta_id)
);
CREATE INDEX message_revisions_message_idx ON message_revisions (message_id, changed_at);
SELECT threadline_enable_tenant_isolation('message_revisions');
GRANT SELECT, INSERT, UPDATE ON message_revisions TO threadline_app;

-- The event log's view of a message (0015) says when it was edited or deleted; a deleted message's content is
-- already '' in the row.
CREATE OR REPLACE FUNCTION message_event_data(m messages) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'message_id', m.id, 'external_id', m.external_id, 'direction', m.direction, 'type', m.type,
        'content', m.content, 'media_url', m.media_url, 'status', m.status, 'source', m.source,
        'sent_at', m.sent_at, 'is_system', m.is_system, 'private', m.is_private,
        'author_user_id', m.author_user_id,
        'error', CASE WHEN m.status = 'failed' OR m.error_title IS NOT NULL
                      THEN jsonb_build_object('code', m.error_code, 'title', m.error_title) END,
        'edited_at', m.edited_at, 'deleted_at', m.deleted_at)
$$;
