-- The `message.updated` a medium's copy appends (0040) carries what every `message.updated` carries: the message's
-- `previous_status` (unchanged: a copy moves no status), beside its `media`. And, like the other triggers that pair
-- an UPDATE's two transition tables (0022), it runs without nested loops, so a bulk change of media (the sweep, a
-- backfill) stays linear whatever the session planned before.
CREATE OR REPLACE FUNCTION message_media_append_changed_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(changed.tenant_id ORDER BY changed.message_id),
        array_agg('message.updated'::text ORDER BY changed.message_id),
        array_agg(changed.conversation_id ORDER BY changed.message_id),
        array_agg(changed.data ORDER BY changed.message_id))
    FROM (
        SELECT n.message_id, n.tenant_id, n.conversation_id,
               message_event_data(m)
                   || jsonb_build_object(
                       'previous_status', m.status, 'media', message_media_event_data(n), 'actor', actor) AS data
        FROM new_media n
        JOIN old_media o ON o.message_id = n.message_id
        JOIN messages m ON m.id = n.message_id
        WHERE n.state IS DISTINCT FROM o.state
    ) changed
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;
ALTER FUNCTION message_media_append_changed_events() SET enable_nestloop = off;
