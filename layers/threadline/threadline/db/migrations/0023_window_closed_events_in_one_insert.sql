-- window.closed events in one INSERT ... SELECT (make bench-expiry: the backlog of 1,000,000 closed windows).
--
-- 0020's append_window_closed_events built four arrays of every window (array_agg with ORDER BY: four sorts of a
-- million rows), passed them to append_events, which unnested them and sorted them again to number them per tenant,
-- and then counted the same range of conversations a second time for its answer. Now, as 0015's
-- messages_append_created_events: one read of the range numbered per tenant in one sort, the heads moved by that
-- count, the events inserted straight from it, and the answer is the INSERT's row count. The events, their seqs and
-- their order are the same: per tenant by closing time, then conversation.
CREATE OR REPLACE FUNCTION append_window_closed_events() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    from_mark timestamptz;
    to_mark timestamptz;
    appended bigint;
BEGIN
    SELECT closed_through INTO from_mark FROM event_log_window_progress FOR UPDATE;
    SELECT expired_through INTO to_mark FROM window_expiry_progress;
    IF to_mark <= from_mark THEN
        RETURN 0;
    END IF;
    WITH wanted AS MATERIALIZED (
        SELECT v.tenant_id, v.id, v.contact_id, v.window_expires_at,
               row_number() OVER (PARTITION BY v.tenant_id ORDER BY v.window_expires_at, v.id) AS position,
               count(*) OVER (PARTITION BY v.tenant_id) AS total
        FROM conversations v
        WHERE v.window_expires_at > from_mark AND v.window_expires_at <= to_mark
    ),
    heads AS (
        INSERT INTO event_log_heads AS h (tenant_id, last_seq)
        SELECT tenant_id, count(*) FROM wanted GROUP BY tenant_id ORDER BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + EXCLUDED.last_seq
        RETURNING h.tenant_id, h.last_seq
    )
    INSERT INTO events (tenant_id, seq, type, conversation_id, data)
    SELECT w.tenant_id, h.last_seq - w.total + w.position, 'window.closed', w.id,
           jsonb_build_object('conversation_id', w.id, 'contact_id', w.contact_id,
                              'window_expires_at', w.window_expires_at)
    FROM wanted w JOIN heads h ON h.tenant_id = w.tenant_id
    ORDER BY w.tenant_id, w.position;
    GET DIAGNOSTICS appended = ROW_COUNT;
    UPDATE event_log_window_progress SET closed_through = to_mark;
    RETURN appended;
END
$$;
