-- Username-only WhatsApp customers (business-scoped user ids, BSUIDs).
--
-- A contact keeps Meta's parent BSUID beside its BSUID (businesses with parent BSUIDs enabled get both; a message
-- may be sent to either). Both are learnt from inbound messages and from the statuses of what was sent to the
-- contact, and a `user_changed_user_id` system message moves the contact to its new BSUID.
ALTER TABLE contacts
    ADD COLUMN whatsapp_parent_user_id text CHECK (length(whatsapp_parent_user_id) > 0);

-- Meta can know one message by two wamids (one scoped to the phone number it was sent to, one to the BSUID): the
-- second one a status names, matched through the biz_opaque_callback_data our send put on the message, is kept here,
-- so the statuses that name it and the customer's replies that quote it still find the message. The message's own
-- wamid stays in messages.meta_id.
CREATE TABLE whatsapp_message_aliases (
    tenant_id  uuid NOT NULL,
    meta_id    text NOT NULL CHECK (length(meta_id) > 0),
    message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, meta_id)
);
CREATE INDEX whatsapp_message_aliases_message_idx ON whatsapp_message_aliases (message_id);
SELECT threadline_enable_tenant_isolation('whatsapp_message_aliases');
GRANT SELECT, INSERT ON whatsapp_message_aliases TO threadline_app;
