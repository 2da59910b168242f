-- The team inbox's lifecycle and ownership (0011 laid down the columns): the tenant-wide real-time feed, the
-- unassigned queue's order, and the scheduled run's door to the tenants that have inbox work due.

-- `inbox`: a connection's tenant-wide feed of conversation changes (topic_id is always 'tenant': the
-- subscription's tenant is the connection's, so there is nothing else to name).
ALTER TABLE websocket_subscriptions DROP CONSTRAINT websocket_subscriptions_topic_check;
ALTER TABLE websocket_subscriptions
    ADD CONSTRAINT websocket_subscriptions_topic_check CHECK (topic IN ('session', 'conversation', 'inbox'));

-- The unassigned queue, handed out oldest-waiting-first (then oldest created): auto-assignment reads its head
-- when an agent comes online or frees capacity, so it is one short index range read however long the queue is.
CREATE INDEX conversations_unassigned_queue_idx
    ON conversations (tenant_id, waiting_since NULLS LAST, created_at, id)
    WHERE assignee_id IS NULL AND status = 'open' AND platform <> 'workspace';

-- An agent's load (open and pending conversations assigned to them), counted under the agent's row lock on every
-- auto-assignment.
CREATE INDEX conversations_assignee_load_idx
    ON conversations (tenant_id, assignee_id)
    WHERE assignee_id IS NOT NULL AND status IN ('open', 'pending');

-- The scheduled run works across every tenant while connected as threadline_app, which sees no conversation
-- without a tenant: this function (owned by the schema owner) is its narrow door. It names only tenants, and
-- what kind of work each has due; the work itself runs as each tenant, under RLS.
--   snoozes_due:   a snoozed conversation whose snoozed_until has passed (the partial index of 0011).
--   queue_waiting: the tenant (or one of its teams) auto-assigns, an unassigned open conversation waits, and an
--                  agent is online to take it.
CREATE FUNCTION find_inbox_work(p_limit integer)
    RETURNS TABLE (tenant_id uuid, snoozes_due boolean, queue_waiting boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH due AS (
        SELECT DISTINCT c.tenant_id FROM conversations c
        WHERE c.snoozed_until IS NOT NULL AND c.snoozed_until <= now()
    ),
    waiting AS (
        SELECT t.id AS tenant_id FROM tenants t
        WHERE (t.auto_assign OR EXISTS (SELECT 1 FROM teams m WHERE m.tenant_id = t.id AND m.auto_assign))
          AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t.id AND u.availability = 'online')
          AND EXISTS (
              SELECT 1 FROM conversations c
              WHERE c.tenant_id = t.id AND c.assignee_id IS NULL AND c.status = 'open' AND c.platform <> 'workspace')
    )
    SELECT coalesce(d.tenant_id, w.tenant_id), d.tenant_id IS NOT NULL, w.tenant_id IS NOT NULL
    FROM due d FULL JOIN waiting w ON w.tenant_id = d.tenant_id
    ORDER BY 1
    LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION find_inbox_work(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION find_inbox_work(integer) TO threadline_app;
