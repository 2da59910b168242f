-- Meta's notifications that Threadline could not place: a verified notification is always answered 200 (anything
-- else only makes Meta re-send it for days, then drop it), so what cannot be stored (a shape Threadline does not
-- model, a message whose sender it cannot resolve, a reaction to a message it does not know, a number with no
-- active connection) is kept here, raw, with the reason, until a fix lands and `threadline whatsapp replay ID` runs
-- it through the webhook's use case again.
--
-- One row per change Meta sent (a notification holding just that change, so a tenant's row never holds another
-- tenant's messages), or per notification when it could not be read at all. `raw` is what a replay runs: bytes,
-- because a body that is not even JSON is kept too. `raw_sha256` is unique: Meta re-sends a notification it
-- thinks was not received, and the same change is kept once.
--
-- Tenant-isolated where the phone number id names a tenant (the connection's, active or not); rows that name no
-- tenant (no number, an unknown number) have a NULL tenant_id, which RLS shows to no tenant: only the schema owner
-- (the `threadline` CLI) reads them.
CREATE TABLE whatsapp_dead_letters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       uuid REFERENCES tenants (id) ON DELETE CASCADE,
    phone_number_id text,
    reason          text NOT NULL CHECK (length(reason) > 0),
    raw             bytea NOT NULL,
    raw_sha256      bytea NOT NULL UNIQUE,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- Set when a replay placed everything the row holds: the row is resolved, kept as a record.
    replayed_at     timestamptz,
    replay_attempts integer NOT NULL DEFAULT 0 CHECK (replay_attempts >= 0),
    last_replay_at  timestamptz
);
-- The CLI's list: the unresolved ones, oldest first.
CREATE INDEX whatsapp_dead_letters_open_idx ON whatsapp_dead_letters (received_at, id) WHERE replayed_at IS NULL;
CREATE INDEX whatsapp_dead_letters_tenant_idx ON whatsapp_dead_letters (tenant_id, received_at)
    WHERE tenant_id IS NOT NULL;
SELECT threadline_enable_tenant_isolation('whatsapp_dead_letters');
GRANT SELECT ON whatsapp_dead_letters TO threadline_app;

-- The webhook's one way to write them (it knows no tenant yet, and a row may name none): each row's tenant is the
-- one whose WhatsApp connection has the phone number id, decided here rather than taken from the caller. Returns
-- how many rows were new.
CREATE FUNCTION record_whatsapp_dead_letters(p_phone_number_ids text[], p_reasons text[], p_raws bytea[])
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH input AS (
        SELECT d.phone_number_id, d.reason, d.raw, d.position
        FROM unnest(p_phone_number_ids, p_reasons, p_raws) WITH ORDINALITY AS d (phone_number_id, reason, raw, position)
    ),
    inserted AS (
        INSERT INTO whatsapp_dead_letters (tenant_id, phone_number_id, reason, raw, raw_sha256)
        SELECT (SELECT c.tenant_id FROM connections c
                WHERE c.platform = 'whatsapp' AND c.phone_number_id = i.phone_number_id),
               i.phone_number_id, left(i.reason, 4000), i.raw, sha256(i.raw)
        FROM input i
        ORDER BY i.position
        ON CONFLICT (raw_sha256) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM inserted
$$;
REVOKE ALL ON FUNCTION record_whatsapp_dead_letters(text[], text[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_whatsapp_dead_letters(text[], text[], bytea[]) TO threadline_app;
