-- The scheduled window expiry: a job marks `window_status = 'expired'` on every contact whose 24-hour window
-- has closed, so the real-time feed can tell agents "template required" before they type.
--
-- Flipping a million rows of contacts is cheap only as heap-only-tuple (HOT) updates: the new row version stays on
-- its page and no index is touched. Measured on the 2-core development machine (`make bench-expiry`: 1,000,000
-- windows closed in the last day, randomly placed on disk): with 0002's index `(window_expires_at) WHERE
-- window_status = 'open'` every flip also inserted into all four other btrees of contacts, 37 s as one statement
-- and 150-270 s in batches of 10,000-100,000; as HOT updates the same run takes 6-8 s. HOT needs two things:
--   1. no btree may mention window_status. The job finds its rows through an index on window_expires_at alone and
--      remembers how far it has got (`window_expiry_progress`), so a run reads only the windows that closed since
--      the previous run, not every window that ever closed;
--   2. room on the page for the new version. At fillfactor 50 every row of a page can be flipped in one pass; at 80
--      three quarters of the flips still left their page (28 s). The price is a contacts heap about twice as large.
-- Rows already on disk keep their pages until they are next rewritten; new and updated rows get the room.
ALTER TABLE contacts SET (fillfactor = 50);

CREATE INDEX contacts_window_expires_idx ON contacts (window_expires_at) WHERE window_expires_at IS NOT NULL;
DROP INDEX contacts_open_window_idx;

-- How far the job has got: every window that closed at or before `expired_through` has been marked. One row; the
-- job locks it for each batch, so overlapping runs take turns and never mark (or count) a window twice.
CREATE TABLE window_expiry_progress (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    expired_through timestamptz NOT NULL DEFAULT '-infinity',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO window_expiry_progress DEFAULT VALUES;
REVOKE ALL ON window_expiry_progress FROM PUBLIC;

-- One batch of the job, across every tenant: threadline_app sees no contact without a tenant, so this function,
-- owned by the schema owner, is the job's only door through RLS. It marks expired the open windows that closed
-- after the progress mark (minus the lookback) and at most `p_batch_size` windows beyond it, then moves the mark.
--
-- * A batch covers a range of closing times, read in page order (bitmap or sequential scan), so each page is written
--   once per batch. Closing times are spread over every page, so four batches of 250,000 rewrote the table four
--   times (24 s against 7 s for one batch of a million): hence the large batches the caller asks for.
-- * The lookback re-reads windows that closed shortly before the mark: a transaction that opened a window just
--   before it closed (a connector delivering a 23h59m-old message) may commit after the batch that passed its
--   closing time. Longer than any transaction of ours (Lambda stops at 15 minutes).
-- * `p_list_windows` also returns which contacts' windows closed (with their tenants), for the real-time feed.
--   Without it only the counts come back: the metric's path. The arrays cost about 3 s more per million here, and
--   loading a million ids into Python another 5 s.
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
    -- A million returned ids and the conversations' hash join fit in memory instead of spilling to disk.
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    lookback CONSTANT interval := interval '15 minutes';
    batch_started_at CONSTANT timestamptz := now();
    mark_before timestamptz;
    batch_end timestamptz;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'p_batch_size must be a positive integer' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- A run overlapping this one waits here until our batch commits, then continues from where we stopped.
    SELECT p.expired_through INTO mark_before FROM window_expiry_progress p FOR UPDATE;

    -- The batch ends at the closing time of its p_batch_size-th window (ties included), or now when fewer remain.
    SELECT c.window_expires_at INTO batch_end
    FROM contacts c
    WHERE c.window_expires_at > mark_before AND c.window_expires_at <= batch_started_at
    ORDER BY c.window_expires_at
    OFFSET p_batch_size - 1 LIMIT 1;
    caught_up := batch_end IS NULL;
    batch_end := COALESCE(batch_end, batch_started_at);

    IF p_list_windows THEN
        WITH expired AS (
            UPDATE contacts c
            SET window_status = 'expired', updated_at = batch_started_at
            WHERE c.window_expires_at > mark_before - lookback AND c.window_expires_at <= batch_end
              AND c.window_status = 'open'
            RETURNING c.tenant_id, c.id, c.window_expires_at
        )
        SELECT count(*),
               (SELECT count(*) FROM expired e JOIN conversations v ON v.contact_id = e.id),
               -- Parallel arrays in one order (a single aggregation pass); the caller groups them by tenant.
               array_agg(e.tenant_id), array_agg(e.id), array_agg(e.window_expires_at)
        INTO contacts_expired, conversations_affected, tenant_ids, contact_ids, window_expires_at
        FROM expired e;
    ELSE
        WITH expired AS (
            UPDATE contacts c
            SET window_status = 'expired', updated_at = batch_started_at
            WHERE c.window_expires_at > mark_before - lookback AND c.window_expires_at <= batch_end
              AND c.window_status = 'open'
            RETURNING c.id
        )
        SELECT (SELECT count(*) FROM expired),
               (SELECT count(*) FROM expired e JOIN conversations v ON v.contact_id = e.id)
        INTO contacts_expired, conversations_affected;
    END IF;

    -- Never backwards: a run that started before the previous batch committed may see an earlier `now`.
    UPDATE window_expiry_progress p
    SET expired_through = GREATEST(p.expired_through, batch_end), updated_at = clock_timestamp()
    RETURNING p.expired_through INTO expired_through;
    caught_up := caught_up OR expired_through >= batch_started_at;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION expire_closed_windows(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expire_closed_windows(integer, boolean) TO threadline_app;
