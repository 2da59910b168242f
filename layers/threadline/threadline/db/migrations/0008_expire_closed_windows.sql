-- The window expiry job's batch (its state is 0003's). After 0007, because the batch also names the closed windows
-- somebody is watching through a WebSocket subscription.
--
-- The mark trails the clock by a settling minute: a transaction that writes a still-open window commits within
-- 30 s (API Gateway's limit on every function that writes contacts), so once a window has been closed for a minute
-- it is visible to the job. A window written when already closed (a connector delivering a day-old message) was
-- never open and needs no notice; the write itself reaches the real-time feed.

-- One batch of the job, across every tenant (threadline_app sees no contact without a tenant: this function, owned
-- by the schema owner, is the job's narrow door through RLS). It notices the windows that closed after the mark,
-- at most `p_batch_size` of them (ties included), and moves the mark past them. Overlapping runs take turns on the
-- progress row, so no window is noticed twice. With `p_list_windows` it also names, per tenant, the noticed
-- windows whose contact has a conversation someone is subscribed to: the only ones the real-time feed can tell.
CREATE FUNCTION expire_closed_windows(p_batch_size integer, p_list_windows boolean DEFAULT false)
    RETURNS TABLE (
        contacts_expired       bigint,
        conversations_affected bigint,
        caught_up              boolean,
        expired_through        timestamptz,
        tenant_ids             uuid[],
        contact_ids            uuid[],
        window_expires_at      timestamptz[]
    )
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    horizon CONSTANT timestamptz := now() - interval '1 minute';
    mark_before timestamptz;
    batch_end timestamptz;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'p_batch_size must be a positive integer' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- A run overlapping this one waits here until our batch commits, then continues from where we stopped.
    SELECT p.expired_through INTO mark_before FROM window_expiry_progress p FOR UPDATE;

    SELECT c.window_expires_at INTO batch_end
    FROM contacts c
    WHERE c.window_expires_at > mark_before AND c.window_expires_at <= horizon
    ORDER BY c.window_expires_at
    OFFSET p_batch_size - 1 LIMIT 1;
    caught_up := batch_end IS NULL;
    batch_end := GREATEST(mark_before, COALESCE(batch_end, horizon));

    SELECT count(*) INTO contacts_expired
    FROM contacts c
    WHERE c.window_expires_at > mark_before AND c.window_expires_at <= batch_end;
    SELECT count(*) INTO conversations_affected
    FROM contacts c JOIN conversations v ON v.contact_id = c.id
    WHERE c.window_expires_at > mark_before AND c.window_expires_at <= batch_end;

    IF p_list_windows THEN
        SELECT array_agg(c.tenant_id ORDER BY c.tenant_id), array_agg(c.id ORDER BY c.tenant_id),
               array_agg(c.window_expires_at ORDER BY c.tenant_id)
        INTO tenant_ids, contact_ids, window_expires_at
        FROM contacts c
        WHERE c.window_expires_at > mark_before AND c.window_expires_at <= batch_end
          AND EXISTS (
              SELECT 1
              FROM conversations v
              JOIN websocket_subscriptions s
                ON s.tenant_id = v.tenant_id AND s.topic = 'conversation' AND s.topic_id = v.id::text
              WHERE v.contact_id = c.id);
    END IF;

    UPDATE window_expiry_progress p
    SET expired_through = GREATEST(p.expired_through, batch_end), updated_at = clock_timestamp()
    RETURNING p.expired_through INTO expired_through;
    caught_up := caught_up OR expired_through >= horizon;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION expire_closed_windows(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expire_closed_windows(integer, boolean) TO threadline_app;
