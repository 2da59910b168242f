-- Reactions, stored on the message they react to (never as messages of their own: a reaction moves neither the
-- conversation's last message nor anybody's unread count). WhatsApp keeps one reaction per sender and message, so
-- a message has at most one from the customer and one from the business (whichever agent sent it through Meta):
-- the key is (message_id, side). A removed reaction stays as a row with a NULL emoji, so an older reaction that
-- Meta delivers late (or a replay) cannot bring it back: a change applies only when it is at least as recent.
CREATE TABLE message_reactions (
    tenant_id       uuid NOT NULL,
    message_id      bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL,
    side            text NOT NULL CHECK (side IN ('customer', 'business')),
    emoji           text CHECK (length(emoji) BETWEEN 1 AND 64),
    -- Who: the customer's contact, or the agent who reacted on the business's behalf.
    contact_id      uuid REFERENCES contacts (id) ON DELETE SET NULL,
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    reacted_at      timestamptz NOT NULL,
    -- The reaction's own wamid (the customer's message, or what Meta answered for ours).
    meta_id         text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, side)
);
SELECT threadline_enable_tenant_isolation('message_reactions');
GRANT SELECT, INSERT, UPDATE ON message_reactions TO threadline_app;

-- A message's reactions as both message views, the event log and the WebSocket frame show them: oldest first,
-- removed ones left out, each with who reacted (the customer by their contact's name, an agent by theirs, the
-- business by the tenant's name when no agent is known).
CREATE FUNCTION message_reactions_json(p_message_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'emoji', r.emoji,
               'by', CASE WHEN r.side = 'customer'
                          THEN jsonb_build_object('type', 'customer', 'id', k.id, 'name', coalesce(k.name, k.identifier))
                          ELSE jsonb_build_object('type', 'agent', 'id', coalesce(u.id, r.tenant_id),
                                                  'name', coalesce(u.name, t.name))
                     END,
               'at', r.reacted_at)
           ORDER BY r.reacted_at, r.side), '[]'::jsonb)
    FROM message_reactions r
    LEFT JOIN contacts k ON k.id = r.contact_id
    LEFT JOIN users u ON u.id = r.user_id
    LEFT JOIN tenants t ON t.id = r.tenant_id
    WHERE r.message_id = p_message_id AND r.emoji IS NOT NULL
$$;

-- message.reactions_changed: one event per message a statement changed, with the message's reactions as they now
-- are. A first removal (a tombstone row for a message without reactions) changes nothing anyone sees: no event.
CREATE FUNCTION message_reactions_append_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(per.tenant_id ORDER BY per.message_id),
        array_agg('message.reactions_changed'::text ORDER BY per.message_id),
        array_agg(per.conversation_id ORDER BY per.message_id),
        array_agg(jsonb_build_object(
            'message_id', per.message_id, 'conversation_id', per.conversation_id,
            'reactions', message_reactions_json(per.message_id), 'actor', actor) ORDER BY per.message_id))
    FROM (
        SELECT DISTINCT c.tenant_id, c.message_id, c.conversation_id
        FROM changed_reactions c
        WHERE TG_OP = 'UPDATE' OR c.emoji IS NOT NULL
    ) per;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_reactions_append_added_events
    AFTER INSERT ON message_reactions REFERENCING NEW TABLE AS changed_reactions
    FOR EACH STATEMENT EXECUTE FUNCTION message_reactions_append_events();
CREATE TRIGGER message_reactions_append_changed_events
    AFTER UPDATE ON message_reactions REFERENCING NEW TABLE AS changed_reactions
    FOR EACH STATEMENT EXECUTE FUNCTION message_reactions_append_events();
