-- Signed webhooks for integrations, and the delivery machinery every outbound call shares (issue 11 §2; connector
-- callbacks, §3, are the second kind of target).
--
-- A delivery is one POST of one body to one target, retried until it is answered 2xx (at least once), given up after
-- 24 hours (dead, redeliverable), or stopped by a 410 (the subscription is disabled). The body is fixed when the
-- delivery is created, so every attempt signs and sends the same bytes under the same Threadline-Delivery id.
--
-- Webhook deliveries are created by a trigger on the event log (0015), in the transaction that appends the event:
-- an event can never commit without the deliveries it owes, whichever writer made it. The dispatcher is told about
-- them after the commit (SQS in AWS, a local queue under `make dev`); a scheduled sweep hands over whatever an
-- interrupted function never did (enqueued_at still NULL) or a queue lost.

CREATE TABLE webhook_subscriptions (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url                         text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- Event types (threadline.vocabulary.EventType), or '*' for every type.
    event_types                 text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 50),
    description                 text CHECK (length(description) <= 500),
    -- AES-GCM (threadline.secret_box): the signing secret is never stored in plain text.
    secret_ciphertext           bytea NOT NULL,
    -- During a rotation the previous secret signs too, until it expires (24 hours).
    previous_secret_ciphertext  bytea,
    previous_secret_expires_at  timestamptz,
    is_active                   boolean NOT NULL DEFAULT true,
    disabled_reason             text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
-- The fan-out's lookup: a tenant's active subscriptions (none for most tenants: an empty probe per statement).
CREATE INDEX webhook_subscriptions_active_idx ON webhook_subscriptions (tenant_id) WHERE is_active;
SELECT threadline_enable_tenant_isolation('webhook_subscriptions');

CREATE TABLE deliveries (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The delivery target: a webhook subscription, or a connection's outbound_url (connector callbacks).
    target_kind          text NOT NULL CHECK (target_kind IN ('webhook', 'connection')),
    subscription_id      uuid,
    connection_id        uuid REFERENCES connections (id) ON DELETE CASCADE,
    event_type           text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
    event_seq            bigint,
    -- The exact bytes posted and signed on every attempt.
    body                 text NOT NULL,
    status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts             integer NOT NULL DEFAULT 0,
    last_response_status integer,
    last_error           text,
    -- The last 2xx answer's body (at most 64 KB), for targets whose answer carries something (a connector's
    -- external_id).
    last_response_body   text,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    -- Retries stop here (24 hours after the delivery was created, or after its redelivery was asked for): dead.
    give_up_at           timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    -- An attempt in flight holds the delivery until then: a second dispatcher (a redriven message) skips it.
    leased_until         timestamptz,
    -- When the dispatcher's queue was last handed this delivery (NULL: never, the sweep hands it over).
    enqueued_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    delivered_at         timestamptz,
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE,
    CHECK ((target_kind = 'webhook') = (subscription_id IS NOT NULL)),
    CHECK ((target_kind = 'connection') = (connection_id IS NOT NULL))
);
-- The sweep's and the dispatcher's range: pending deliveries by when they are due (few: delivered ones leave it).
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
-- The after-commit hand-over: a tenant's deliveries no queue has been told about.
CREATE INDEX deliveries_unqueued_idx ON deliveries (tenant_id) WHERE status = 'pending' AND enqueued_at IS NULL;
-- GET /v1/webhooks/{id}/deliveries: newest first.
CREATE INDEX deliveries_subscription_idx ON deliveries (tenant_id, subscription_id, created_at DESC, id DESC)
    WHERE subscription_id IS NOT NULL;
SELECT threadline_enable_tenant_isolation('deliveries');

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_subscriptions TO threadline_app;
GRANT SELECT, INSERT, UPDATE ON deliveries TO threadline_app;

-- The fan-out: each appended event becomes a delivery for every active subscription of its tenant that wants its
-- type, in the same statement's transaction. One INSERT per appending statement; with no subscriptions, one empty
-- index probe per tenant.
CREATE FUNCTION events_fan_out_to_webhooks() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO deliveries (id, tenant_id, target_kind, subscription_id, event_type, event_seq, body)
    SELECT d.id, d.tenant_id, 'webhook', d.subscription_id, d.type, d.seq,
           jsonb_build_object(
               'id', d.id, 'event', d.type, 'seq', d.seq,
               'occurred_at', to_char(d.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'tenant_id', d.tenant_id, 'data', d.data)::text
    FROM (
        SELECT gen_random_uuid() AS id, e.tenant_id, e.type, e.seq, e.occurred_at, e.data, s.id AS subscription_id
        FROM appended_events e
        JOIN webhook_subscriptions s
          ON s.tenant_id = e.tenant_id AND s.is_active
         AND (e.type = ANY (s.event_types) OR '*' = ANY (s.event_types))
    ) d
    ORDER BY d.tenant_id, d.seq;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_fan_out_to_webhooks
    AFTER INSERT ON events REFERENCING NEW TABLE AS appended_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_fan_out_to_webhooks();

-- The scheduled sweep, across tenants (threadline_app sees no delivery without a tenant: this function, owned by the
-- schema owner, is the sweep's narrow door through RLS): the pending deliveries that are due and that no queue
-- holds (never handed over, or handed over longer ago than a queue could still be holding them), marked as handed
-- over now. Oldest first, at most p_limit.
CREATE FUNCTION claim_unqueued_deliveries(p_now timestamptz, p_stale_before timestamptz, p_limit integer)
    RETURNS TABLE (tenant_id uuid, delivery_id uuid)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH due AS (
        SELECT d.id FROM deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= p_now
          AND (d.enqueued_at IS NULL OR d.enqueued_at < p_stale_before)
          AND (d.leased_until IS NULL OR d.leased_until < p_now)
        ORDER BY d.next_attempt_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE deliveries d SET enqueued_at = p_now
    FROM due WHERE d.id = due.id
    RETURNING d.tenant_id, d.id
$$;
REVOKE ALL ON FUNCTION claim_unqueued_deliveries(timestamptz, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_unqueued_deliveries(timestamptz, timestamptz, integer) TO threadline_app;
