-- What each send cost (issue section 5). Meta's status webhooks carry a `pricing` object (category, type,
-- pricing_model, and the deprecated billable) and, under conversation-based pricing, a `conversation` object (id,
-- origin.type, expiration_timestamp). Both are kept on the message as Meta last reported them, moved only with a
-- status that moves the message forward (threadline.db.repositories.statuses), as the parser normalised them
-- (threadline.meta.webhook): jsonb, because Meta adds fields and values (marketing_lite, the per-message model of
-- July 2025, charged service replies from October 2026) faster than a column list would follow.
ALTER TABLE messages
    ADD COLUMN pricing jsonb,
    ADD COLUMN billing_conversation jsonb;

-- Whether Meta charges for the message. `type` (regular, free_customer_service, free_entry_point) says it since the
-- per-message model; `billable` is what older payloads (and Meta's deprecated field) say. A message without either
-- is not counted: nothing is assumed free or charged from its category, since service replies are charged per
-- message from October 2026.
CREATE FUNCTION message_is_billable(p_pricing jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_pricing IS NULL THEN false
        WHEN jsonb_typeof(p_pricing -> 'type') = 'string' THEN p_pricing ->> 'type' = 'regular'
        ELSE coalesce(p_pricing -> 'billable' = 'true'::jsonb, false)
    END
$$;

-- The conversation detail counts a conversation's billable messages by category: a partial index holds only the
-- billable ones, so the count reads those entries and never the conversation's other messages.
CREATE INDEX messages_billable_category_idx
    ON messages (tenant_id, conversation_id, (pricing ->> 'category'))
    WHERE message_is_billable(pricing);
