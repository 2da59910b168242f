-- GENERATED FILE: do not edit, and never applied. `make schema` (devtools/schema.py) writes it from a database
-- created empty and migrated with db/migrations/*.sql: pg_dump --schema-only --no-owner --no-privileges, on
-- PostgreSQL 18, normalised (pg_dump's banner, \restrict key and session SET lines left out). The migrations
-- are the schema; this is their sum, to read and review in one place. Change the schema with a new migration, then
-- run `make schema`: tests/integration/test_schema_snapshot.py fails while this file is stale.

--
-- Name: btree_gin; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;

--
-- Name: EXTENSION btree_gin; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION btree_gin IS 'support for indexing common datatypes in GIN';

--
-- Name: pg_trgm; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

--
-- Name: EXTENSION pg_trgm; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';

--
-- Name: unaccent; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

--
-- Name: EXTENSION unaccent; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION unaccent IS 'text search dictionary that removes accents';

--
-- Name: app_current_tenant(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

--
-- Name: append_events(uuid[], text[], bigint[], jsonb[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.append_events(p_tenant_ids uuid[], p_types text[], p_conversation_ids bigint[], p_data jsonb[]) RETURNS void
    LANGUAGE sql
    AS $$
    WITH wanted AS MATERIALIZED (
        SELECT e.tenant_id, e.type, e.conversation_id, e.data,
               row_number() OVER (PARTITION BY e.tenant_id ORDER BY e.position) AS position,
               count(*) OVER (PARTITION BY e.tenant_id) AS total
        FROM unnest(p_tenant_ids, p_types, p_conversation_ids, p_data)
             WITH ORDINALITY AS e (tenant_id, type, conversation_id, data, position)
    ),
    heads AS (
        INSERT INTO event_log_heads AS h (tenant_id, last_seq)
        SELECT tenant_id, count(*) FROM wanted GROUP BY tenant_id ORDER BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + EXCLUDED.last_seq
        RETURNING h.tenant_id, h.last_seq
    )
    INSERT INTO events (tenant_id, seq, type, conversation_id, data)
    SELECT w.tenant_id, h.last_seq - w.total + w.position, w.type, w.conversation_id, w.data
    FROM wanted w JOIN heads h ON h.tenant_id = w.tenant_id
    ORDER BY w.tenant_id, w.position
$$;

--
-- Name: append_window_closed_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.append_window_closed_events() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
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

--
-- Name: claim_pending_media(timestamp with time zone, timestamp with time zone, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.claim_pending_media(p_now timestamp with time zone, p_stale_before timestamp with time zone, p_limit integer) RETURNS TABLE(tenant_id uuid, message_id bigint)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    WITH due AS (
        SELECT x.message_id FROM message_media x
        WHERE x.state = 'pending' AND x.next_attempt_at <= p_now
          AND (x.enqueued_at IS NULL OR x.enqueued_at < p_stale_before)
        ORDER BY x.next_attempt_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE message_media x SET enqueued_at = p_now
    FROM due WHERE x.message_id = due.message_id
    RETURNING x.tenant_id, x.message_id
$$;

--
-- Name: claim_unqueued_deliveries(timestamp with time zone, timestamp with time zone, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.claim_unqueued_deliveries(p_now timestamp with time zone, p_stale_before timestamp with time zone, p_limit integer) RETURNS TABLE(tenant_id uuid, delivery_id uuid)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
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

--
-- Name: compact_inbox_count_deltas(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.compact_inbox_count_deltas() RETURNS TABLE(rows_before bigint, rows_after bigint)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    WITH removed AS (
        DELETE FROM inbox_count_deltas RETURNING tenant_id, status, assignee_id, team_id, delta
    ),
    summed AS (
        INSERT INTO inbox_count_deltas (tenant_id, status, assignee_id, team_id, delta)
        SELECT tenant_id, status, assignee_id, team_id, sum(delta)
        FROM removed
        GROUP BY tenant_id, status, assignee_id, team_id
        HAVING sum(delta) <> 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM removed), (SELECT count(*) FROM summed);
$$;

--
-- Name: connections_move_conversations(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.connections_move_conversations() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE conversations SET location_id = NEW.location_id
    WHERE connection_id = NEW.id AND location_id IS DISTINCT FROM NEW.location_id;
    RETURN NULL;
END
$$;

--
-- Name: conversation_exists(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversation_exists(p_conversation_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$ SELECT EXISTS (SELECT 1 FROM conversations WHERE id = p_conversation_id) $$;

--
-- Name: conversation_labels_append_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversation_labels_append_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(per.tenant_id ORDER BY per.conversation_id),
        array_agg('conversation.labels_changed'::text ORDER BY per.conversation_id),
        array_agg(per.conversation_id ORDER BY per.conversation_id),
        array_agg(jsonb_build_object(
            'conversation_id', per.conversation_id,
            'added', CASE WHEN TG_OP = 'INSERT' THEN per.names ELSE '[]'::jsonb END,
            'removed', CASE WHEN TG_OP = 'DELETE' THEN per.names ELSE '[]'::jsonb END,
            'labels', (SELECT coalesce(jsonb_agg(l.name ORDER BY cl.created_at, lower(l.name)), '[]'::jsonb)
                       FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
                       WHERE cl.tenant_id = per.tenant_id AND cl.conversation_id = per.conversation_id),
            'actor', actor) ORDER BY per.conversation_id))
    FROM (
        SELECT x.tenant_id, x.conversation_id, jsonb_agg(l.name ORDER BY lower(l.name)) AS names
        FROM changed_labels x LEFT JOIN labels l ON l.id = x.label_id
        GROUP BY x.tenant_id, x.conversation_id
    ) per;
    RETURN NULL;
END
$$;

--
-- Name: conversation_labels_count_into_labels(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversation_labels_count_into_labels() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE labels l
    SET conversation_count = l.conversation_count + added.conversations
    FROM (SELECT label_id, count(*) AS conversations FROM added_labels GROUP BY label_id) added
    WHERE l.id = added.label_id;
    RETURN NULL;
END
$$;

--
-- Name: conversation_labels_uncount_from_labels(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversation_labels_uncount_from_labels() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE labels l
    SET conversation_count = GREATEST(l.conversation_count - removed.conversations, 0)
    FROM (SELECT label_id, count(*) AS conversations FROM removed_labels GROUP BY label_id) removed
    WHERE l.id = removed.label_id;
    RETURN NULL;
END
$$;

--
-- Name: conversations_append_changed_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversations_append_changed_events() RETURNS trigger
    LANGUAGE plpgsql
    SET enable_nestloop TO 'off'
    AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(changed.tenant_id ORDER BY changed.id, changed.kind),
        array_agg(changed.type ORDER BY changed.id, changed.kind),
        array_agg(changed.id ORDER BY changed.id, changed.kind),
        array_agg(changed.data ORDER BY changed.id, changed.kind))
    FROM (
        SELECT n.id, n.tenant_id, 1 AS kind, 'conversation.assigned' AS type,
               jsonb_build_object('conversation_id', n.id, 'assignee_id', n.assignee_id,
                                  'previous_assignee_id', o.assignee_id, 'version', n.version, 'actor', actor) AS data
        FROM new_conversations n JOIN old_conversations o ON o.id = n.id
        WHERE n.assignee_id IS DISTINCT FROM o.assignee_id
        UNION ALL
        SELECT n.id, n.tenant_id, 2, 'conversation.updated',
               jsonb_build_object('conversation_id', n.id, 'changes', changes.fields, 'version', n.version,
                                  'actor', actor)
        FROM new_conversations n JOIN old_conversations o ON o.id = n.id
        CROSS JOIN LATERAL (
            SELECT jsonb_object_agg(f.key, f.value) AS fields
            FROM jsonb_each(jsonb_build_object('status', n.status, 'snoozed_until', n.snoozed_until,
                                               'team_id', n.team_id, 'priority', n.priority)) f
            WHERE f.value IS DISTINCT FROM jsonb_build_object(
                'status', o.status, 'snoozed_until', o.snoozed_until, 'team_id', o.team_id,
                'priority', o.priority) -> f.key
        ) changes
        WHERE (n.status, n.snoozed_until, n.team_id, n.priority)
              IS DISTINCT FROM (o.status, o.snoozed_until, o.team_id, o.priority)
    ) changed;
    RETURN NULL;
END
$$;

--
-- Name: conversations_append_created_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversations_append_created_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(c.tenant_id ORDER BY c.id),
        array_agg('conversation.created'::text ORDER BY c.id),
        array_agg(c.id ORDER BY c.id),
        array_agg(jsonb_build_object(
            'conversation_id', c.id, 'platform', c.platform, 'external_conversation_id', c.external_conversation_id,
            'contact_id', c.contact_id, 'connection_id', c.connection_id, 'status', c.status,
            'assignee_id', c.assignee_id, 'team_id', c.team_id, 'priority', c.priority, 'version', c.version,
            'actor', actor) ORDER BY c.id))
    FROM added_conversations c;
    RETURN NULL;
END
$$;

--
-- Name: conversations_append_window_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversations_append_window_events() RETURNS trigger
    LANGUAGE plpgsql
    SET enable_nestloop TO 'off'
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM append_events(
            array_agg(n.tenant_id ORDER BY n.id), array_agg('window.opened'::text ORDER BY n.id),
            array_agg(n.id ORDER BY n.id),
            array_agg(jsonb_build_object('conversation_id', n.id, 'contact_id', n.contact_id,
                                         'window_expires_at', n.window_expires_at) ORDER BY n.id))
        FROM new_conversations n
        WHERE n.window_expires_at > now();
    ELSE
        PERFORM append_events(
            array_agg(n.tenant_id ORDER BY n.id), array_agg('window.opened'::text ORDER BY n.id),
            array_agg(n.id ORDER BY n.id),
            array_agg(jsonb_build_object('conversation_id', n.id, 'contact_id', n.contact_id,
                                         'window_expires_at', n.window_expires_at) ORDER BY n.id))
        FROM new_conversations n JOIN old_conversations o ON o.id = n.id
        WHERE n.window_expires_at > now() AND (o.window_expires_at IS NULL OR o.window_expires_at <= now());
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: conversations_bump_version(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversations_bump_version() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF (NEW.status, NEW.snoozed_until, NEW.assignee_id, NEW.team_id, NEW.priority)
       IS DISTINCT FROM (OLD.status, OLD.snoozed_until, OLD.assignee_id, OLD.team_id, OLD.priority) THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$$;

--
-- Name: conversations_open_window(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversations_open_window() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    hours integer;
BEGIN
    SELECT k.reply_window_hours INTO hours FROM connections k WHERE k.id = NEW.connection_id;
    IF NOT FOUND THEN
        hours := platform_reply_window_hours(NEW.platform);
    END IF;
    NEW.window_expires_at := NEW.last_inbound_at + make_interval(hours => hours);
    NEW.replies_in_window := 0;
    RETURN NEW;
END
$$;

--
-- Name: conversations_take_connection_location(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conversations_take_connection_location() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.connection_id IS NULL THEN
        NEW.location_id := NULL;
    ELSE
        SELECT k.location_id INTO NEW.location_id FROM connections k WHERE k.id = NEW.connection_id;
    END IF;
    RETURN NEW;
END
$$;

--
-- Name: event_actor(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.event_actor() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.actor', true), '')::jsonb $$;

--
-- Name: events_fan_out_to_webhooks(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.events_fan_out_to_webhooks() RETURNS trigger
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

--
-- Name: expire_closed_windows(integer, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.expire_closed_windows(p_batch_size integer, p_list_windows boolean DEFAULT false) RETURNS TABLE(windows_expired bigint, caught_up boolean, expired_through timestamp with time zone, tenant_ids uuid[], conversation_ids bigint[], contact_ids uuid[], window_expires_at timestamp with time zone[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET work_mem TO '64MB'
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

    SELECT v.window_expires_at INTO batch_end
    FROM conversations v
    WHERE v.window_expires_at > mark_before AND v.window_expires_at <= horizon
    ORDER BY v.window_expires_at
    OFFSET p_batch_size - 1 LIMIT 1;
    caught_up := batch_end IS NULL;
    batch_end := GREATEST(mark_before, COALESCE(batch_end, horizon));

    SELECT count(*) INTO windows_expired
    FROM conversations v
    WHERE v.window_expires_at > mark_before AND v.window_expires_at <= batch_end;

    IF p_list_windows THEN
        SELECT array_agg(v.tenant_id ORDER BY v.tenant_id, v.id), array_agg(v.id ORDER BY v.tenant_id, v.id),
               array_agg(v.contact_id ORDER BY v.tenant_id, v.id),
               array_agg(v.window_expires_at ORDER BY v.tenant_id, v.id)
        INTO tenant_ids, conversation_ids, contact_ids, window_expires_at
        FROM conversations v
        WHERE v.window_expires_at > mark_before AND v.window_expires_at <= batch_end
          AND EXISTS (
              SELECT 1 FROM websocket_subscriptions s
              WHERE s.tenant_id = v.tenant_id AND s.topic = 'conversation' AND s.topic_id = v.id::text);
    END IF;

    UPDATE window_expiry_progress p
    SET expired_through = GREATEST(p.expired_through, batch_end), updated_at = clock_timestamp()
    RETURNING p.expired_through INTO expired_through;
    caught_up := caught_up OR expired_through >= horizon;
    RETURN NEXT;
END
$$;

--
-- Name: fail_unconfirmed_sends(timestamp with time zone, text, text, integer, text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fail_unconfirmed_sends(p_pending_before timestamp with time zone, p_title text, p_details text, p_limit integer, p_platforms text[]) RETURNS TABLE(tenant_id uuid, message_id bigint)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    WITH due AS (
        SELECT m.id
        FROM messages m
        JOIN conversations v ON v.id = m.conversation_id
        WHERE m.status = 'pending' AND m.direction = 'outbound' AND m.created_at < p_pending_before
          AND v.platform = ANY (p_platforms)
        ORDER BY m.created_at, m.id
        LIMIT p_limit
        FOR UPDATE OF m SKIP LOCKED
    )
    UPDATE messages m
    SET status = 'failed', status_updated_at = now(), error_code = NULL, error_title = p_title,
        error_details = p_details
    FROM due
    WHERE m.id = due.id
    RETURNING m.tenant_id, m.id
$$;

--
-- Name: find_connection_for_auth(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.find_connection_for_auth(p_connection_id text) RETURNS TABLE(id uuid, tenant_id uuid, platform text, api_secret_sha256 text, is_active boolean, phone_number_id text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT c.id, c.tenant_id, c.platform, c.api_secret_sha256, c.is_active, c.phone_number_id
    FROM connections c
    WHERE c.connection_id = p_connection_id
$$;

--
-- Name: find_inbox_work(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.find_inbox_work(p_limit integer) RETURNS TABLE(tenant_id uuid, snoozes_due boolean, queue_waiting boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
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

--
-- Name: find_template_account_tenants(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.find_template_account_tenants(p_waba_id text) RETURNS TABLE(tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT DISTINCT c.tenant_id FROM connections c WHERE c.waba_id = p_waba_id AND c.is_active
$$;

--
-- Name: find_websocket_connection(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.find_websocket_connection(p_connection_id text) RETURNS TABLE(connection_id text, tenant_id uuid, user_id text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT c.connection_id, c.tenant_id, c.user_id
    FROM websocket_connections c
    WHERE c.connection_id = p_connection_id
$$;

--
-- Name: find_whatsapp_connection_by_number(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.find_whatsapp_connection_by_number(p_phone_number_id text) RETURNS TABLE(id uuid, tenant_id uuid, connection_id text, phone_number_id text, is_active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT c.id, c.tenant_id, c.connection_id, c.phone_number_id, c.is_active
    FROM connections c
    WHERE c.platform = 'whatsapp' AND c.phone_number_id = p_phone_number_id
$$;

--
-- Name: fold_connector_echo(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fold_connector_echo(p_message_id bigint, p_external_id text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    tenant CONSTANT uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
    reply_conversation bigint;
    echo_id bigint;
    echo_status text;
BEGIN
    SELECT m.conversation_id INTO reply_conversation
    FROM messages m WHERE m.id = p_message_id AND m.tenant_id = tenant;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    DELETE FROM messages e
    WHERE e.tenant_id = tenant AND e.conversation_id = reply_conversation AND e.external_id = p_external_id
      AND e.id <> p_message_id AND e.direction = 'outbound' AND e.source = 'ingest'
    RETURNING e.id, e.status INTO echo_id, echo_status;
    IF echo_id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM append_events(
        ARRAY[tenant], ARRAY['message.deleted'], ARRAY[reply_conversation],
        ARRAY[jsonb_build_object('message_id', echo_id, 'merged_into', p_message_id, 'external_id', p_external_id,
                                 'actor', event_actor())]);
    RETURN echo_status;
END
$$;

--
-- Name: inbox_counts_add_created(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.inbox_counts_add_created() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    INSERT INTO inbox_count_deltas (tenant_id, status, assignee_id, team_id, delta)
    SELECT tenant_id, status, assignee_id, team_id, count(*)
    FROM created_conversations
    WHERE platform <> 'workspace'
    GROUP BY tenant_id, status, assignee_id, team_id;
    RETURN NULL;
END
$$;

--
-- Name: inbox_counts_move_changed(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.inbox_counts_move_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    INSERT INTO inbox_count_deltas (tenant_id, status, assignee_id, team_id, delta)
    VALUES (OLD.tenant_id, OLD.status, OLD.assignee_id, OLD.team_id, -1),
           (NEW.tenant_id, NEW.status, NEW.assignee_id, NEW.team_id, 1);
    RETURN NULL;
END
$$;

--
-- Name: inbox_counts_remove_deleted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.inbox_counts_remove_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    INSERT INTO inbox_count_deltas (tenant_id, status, assignee_id, team_id, delta)
    SELECT tenant_id, status, assignee_id, team_id, -count(*)
    FROM deleted_conversations
    WHERE platform <> 'workspace'
    GROUP BY tenant_id, status, assignee_id, team_id;
    RETURN NULL;
END
$$;

--
-- Name: threadline_unaccent(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.threadline_unaccent(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN public.unaccent('public.unaccent'::regdictionary, value);

--
-- Name: threadline_search_document(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.threadline_search_document(content text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_tsvector('simple'::regconfig, public.threadline_unaccent(content));

--
-- Name: messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    conversation_id bigint NOT NULL,
    external_id text NOT NULL,
    direction text NOT NULL,
    type text NOT NULL,
    content text NOT NULL,
    media_url text,
    sent_at timestamp with time zone NOT NULL,
    status text DEFAULT 'received'::text NOT NULL,
    source text DEFAULT 'ingest'::text NOT NULL,
    author_user_id uuid,
    is_system boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    meta_id text,
    status_updated_at timestamp with time zone,
    error_code integer,
    error_title text,
    error_details text,
    reply_to_external_id text,
    media_mime_type text,
    media_filename text,
    media_size_bytes bigint,
    payload jsonb,
    content_type text,
    channel text,
    metadata jsonb,
    context_type text,
    thread_id text,
    updated_at timestamp with time zone,
    is_private boolean DEFAULT false NOT NULL,
    search_document tsvector GENERATED ALWAYS AS (public.threadline_search_document(content)) STORED,
    details jsonb,
    referral jsonb,
    forwarded boolean DEFAULT false NOT NULL,
    frequently_forwarded boolean DEFAULT false NOT NULL,
    edited_at timestamp with time zone,
    deleted_at timestamp with time zone,
    pricing jsonb,
    billing_conversation jsonb,
    CONSTRAINT messages_details_check CHECK ((jsonb_typeof(details) = 'object'::text)),
    CONSTRAINT messages_direction_check CHECK ((direction = ANY (ARRAY['inbound'::text, 'outbound'::text]))),
    CONSTRAINT messages_external_id_check CHECK ((length(external_id) > 0)),
    CONSTRAINT messages_media_size_bytes_check CHECK ((media_size_bytes >= 0)),
    CONSTRAINT messages_referral_check CHECK ((jsonb_typeof(referral) = 'object'::text)),
    CONSTRAINT messages_status_check CHECK ((status = ANY (ARRAY['received'::text, 'pending'::text, 'sent'::text, 'delivered'::text, 'read'::text, 'failed'::text]))),
    CONSTRAINT messages_type_check CHECK ((type = ANY (ARRAY['text'::text, 'image'::text, 'audio'::text, 'video'::text, 'file'::text, 'location'::text, 'template'::text])))
);

--
-- Name: message_event_data(public.messages); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.message_event_data(m public.messages) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT jsonb_build_object(
        'message_id', m.id, 'external_id', m.external_id, 'direction', m.direction, 'type', m.type,
        'content', m.content, 'media_url', m.media_url, 'status', m.status, 'source', m.source,
        'sent_at', m.sent_at, 'is_system', m.is_system, 'private', m.is_private,
        'author_user_id', m.author_user_id,
        'error', CASE WHEN m.status = 'failed' OR m.error_title IS NOT NULL
                      THEN jsonb_build_object('code', m.error_code, 'title', m.error_title) END,
        'edited_at', m.edited_at, 'deleted_at', m.deleted_at)
$$;

--
-- Name: message_is_billable(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.message_is_billable(p_pricing jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN p_pricing IS NULL THEN false
        WHEN jsonb_typeof(p_pricing -> 'type') = 'string' THEN p_pricing ->> 'type' = 'regular'
        ELSE coalesce(p_pricing -> 'billable' = 'true'::jsonb, false)
    END
$$;

--
-- Name: message_media_append_changed_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.message_media_append_changed_events() RETURNS trigger
    LANGUAGE plpgsql
    SET enable_nestloop TO 'off'
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

--
-- Name: message_media; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.message_media (
    message_id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    conversation_id bigint NOT NULL,
    source_kind text NOT NULL,
    source_ref text NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    failure_reason text,
    mime_type text,
    file_name text,
    size_bytes bigint,
    sha256 text,
    s3_key text,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    enqueued_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    stored_at timestamp with time zone,
    detected_mime_type text,
    CONSTRAINT message_media_failed_has_reason CHECK (((state <> 'failed'::text) OR (failure_reason IS NOT NULL))),
    CONSTRAINT message_media_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT message_media_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT message_media_source_kind_check CHECK ((source_kind = ANY (ARRAY['channel'::text, 'url'::text, 'upload'::text]))),
    CONSTRAINT message_media_source_ref_check CHECK ((length(source_ref) > 0)),
    CONSTRAINT message_media_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'stored'::text, 'failed'::text]))),
    CONSTRAINT message_media_stored_has_object CHECK (((state <> 'stored'::text) OR ((s3_key IS NOT NULL) AND (sha256 IS NOT NULL) AND (size_bytes IS NOT NULL))))
);

--
-- Name: message_media_event_data(public.message_media); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.message_media_event_data(x public.message_media) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT jsonb_build_object(
        'state', x.state, 'mime_type', x.mime_type, 'file_name', x.file_name, 'size', x.size_bytes,
        'sha256', x.sha256, 'failure_reason', x.failure_reason)
$$;

--
-- Name: message_reactions_append_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.message_reactions_append_events() RETURNS trigger
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

--
-- Name: message_reactions_json(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.message_reactions_json(p_message_id bigint) RETURNS jsonb
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

--
-- Name: message_status_rank(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.message_status_rank(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE status
        WHEN 'pending' THEN 0 WHEN 'received' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
        WHEN 'read' THEN 3 WHEN 'failed' THEN 4 END
$$;

--
-- Name: messages_append_changed_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.messages_append_changed_events() RETURNS trigger
    LANGUAGE plpgsql
    SET enable_nestloop TO 'off'
    AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(changed.tenant_id ORDER BY changed.id),
        array_agg(changed.type ORDER BY changed.id),
        array_agg(changed.conversation_id ORDER BY changed.id),
        array_agg(changed.data ORDER BY changed.id))
    FROM (
        SELECT n.id, n.tenant_id, n.conversation_id,
               CASE WHEN n.status IS DISTINCT FROM o.status THEN 'message.status_changed' ELSE 'message.updated' END
                   AS type,
               message_event_data(n)
                   || jsonb_build_object('previous_status', o.status, 'actor', actor) AS data
        FROM new_messages n JOIN old_messages o ON o.id = n.id
        -- What a reader can see; bookkeeping columns (status_updated_at, updated_at) alone are no change.
        WHERE (n.status, n.content, n.media_url, n.external_id, n.meta_id, n.error_code, n.error_title,
               n.error_details, n.metadata)
              IS DISTINCT FROM
              (o.status, o.content, o.media_url, o.external_id, o.meta_id, o.error_code, o.error_title,
               o.error_details, o.metadata)
    ) changed;
    RETURN NULL;
END
$$;

--
-- Name: messages_append_created_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.messages_append_created_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    actor CONSTANT jsonb := jsonb_build_object('actor', event_actor());
BEGIN
    WITH wanted AS MATERIALIZED (
        SELECT m.tenant_id, m.conversation_id,
               CASE WHEN m.is_private THEN 'note.created' ELSE 'message.created' END AS type,
               message_event_data(m) || actor AS data,
               row_number() OVER (PARTITION BY m.tenant_id ORDER BY m.id) AS position,
               count(*) OVER (PARTITION BY m.tenant_id) AS total
        FROM added_messages m
    ),
    heads AS (
        INSERT INTO event_log_heads AS h (tenant_id, last_seq)
        SELECT tenant_id, count(*) FROM wanted GROUP BY tenant_id ORDER BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + EXCLUDED.last_seq
        RETURNING h.tenant_id, h.last_seq
    )
    INSERT INTO events (tenant_id, seq, type, conversation_id, data)
    SELECT w.tenant_id, h.last_seq - w.total + w.position, w.type, w.conversation_id, w.data
    FROM wanted w JOIN heads h ON h.tenant_id = w.tenant_id
    ORDER BY w.tenant_id, w.position;
    RETURN NULL;
END
$$;

--
-- Name: messages_count_into_conversations(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.messages_count_into_conversations() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE conversations c
    SET message_count = c.message_count + added.messages,
        countable_count = c.countable_count + added.countable,
        agent_last_read_at = GREATEST(c.agent_last_read_at, added.replied_at),
        last_inbound_at = GREATEST(c.last_inbound_at, added.last_inbound_at),
        unread_count = CASE
            WHEN added.replied_at > COALESCE(c.agent_last_read_at, '-infinity') THEN (
                SELECT count(*) FROM messages m
                WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id AND m.sent_at > added.replied_at
                  AND m.direction = 'inbound' AND NOT m.is_system)
            ELSE c.unread_count + (
                SELECT count(*) FROM inserted_messages n
                WHERE n.conversation_id = c.id AND n.sent_at > COALESCE(c.agent_last_read_at, '-infinity')
                  AND n.direction = 'inbound' AND NOT n.is_system)
        END,
        waiting_since = CASE
            WHEN added.replied_at > COALESCE(c.agent_last_read_at, '-infinity') THEN (
                SELECT min(m.sent_at) FROM messages m
                WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id AND m.sent_at > added.replied_at
                  AND m.direction = 'inbound' AND NOT m.is_system)
            ELSE LEAST(c.waiting_since, (
                SELECT min(n.sent_at) FROM inserted_messages n
                WHERE n.conversation_id = c.id AND n.sent_at > COALESCE(c.agent_last_read_at, '-infinity')
                  AND n.direction = 'inbound' AND NOT n.is_system))
        END
    FROM (
        SELECT conversation_id, count(*) AS messages,
               max(sent_at) FILTER (WHERE direction = 'outbound' AND NOT is_system AND NOT is_private) AS replied_at,
               max(sent_at) FILTER (WHERE direction = 'inbound' AND NOT is_system) AS last_inbound_at,
               -- Countable: what an agent has to read (0013).
               count(*) FILTER (WHERE (direction = 'inbound' AND NOT is_system) OR is_private) AS countable
        FROM inserted_messages
        GROUP BY conversation_id
    ) added
    WHERE c.id = added.conversation_id;

    -- Writing means having read: each author's horizon moves to their newest message of the statement. The
    -- join to users (under RLS) skips an author who is not a user of the message's tenant.
    INSERT INTO conversation_reads AS r (tenant_id, conversation_id, user_id, last_read_message_id, countable_seen)
    SELECT written.tenant_id, written.conversation_id, written.author_user_id, written.message_id,
           c.countable_count - (
               SELECT count(*) FROM messages m
               WHERE m.tenant_id = written.tenant_id AND m.conversation_id = written.conversation_id
                 AND m.id > written.message_id
                 AND ((m.direction = 'inbound' AND NOT m.is_system) OR m.is_private))
    FROM (
        SELECT tenant_id, conversation_id, author_user_id, max(id) AS message_id FROM inserted_messages
        WHERE author_user_id IS NOT NULL AND NOT is_system
        GROUP BY tenant_id, conversation_id, author_user_id
    ) written
    JOIN conversations c ON c.id = written.conversation_id
    JOIN users u ON u.id = written.author_user_id AND u.tenant_id = written.tenant_id
    ON CONFLICT (conversation_id, user_id) DO UPDATE
    SET last_read_message_id = EXCLUDED.last_read_message_id,
        countable_seen = EXCLUDED.countable_seen,
        updated_at = now()
    WHERE EXCLUDED.last_read_message_id > r.last_read_message_id;
    RETURN NULL;
END
$$;

--
-- Name: messages_uncount_from_conversations(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.messages_uncount_from_conversations() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE conversations c
    SET message_count = GREATEST(c.message_count - removed.messages, 0),
        unread_count = GREATEST(c.unread_count - (
            SELECT count(*) FROM deleted_messages d
            WHERE d.conversation_id = c.id AND d.sent_at > COALESCE(c.agent_last_read_at, '-infinity')
              AND d.direction = 'inbound' AND NOT d.is_system), 0)
    FROM (SELECT conversation_id, count(*) AS messages FROM deleted_messages GROUP BY conversation_id) removed
    WHERE c.id = removed.conversation_id;
    RETURN NULL;
END
$$;

--
-- Name: messages_untrack_read_state(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.messages_untrack_read_state() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE conversations c
    SET countable_count = GREATEST(c.countable_count - removed.countable, 0)
    FROM (
        SELECT conversation_id, count(*) AS countable FROM deleted_messages
        WHERE (direction = 'inbound' AND NOT is_system) OR is_private
        GROUP BY conversation_id
    ) removed
    WHERE c.id = removed.conversation_id;

    UPDATE conversation_reads r
    SET countable_seen = GREATEST(r.countable_seen - (
        SELECT count(*) FROM deleted_messages d
        WHERE d.conversation_id = r.conversation_id AND d.id <= r.last_read_message_id
          AND ((d.direction = 'inbound' AND NOT d.is_system) OR d.is_private)), 0)
    WHERE r.conversation_id IN (SELECT conversation_id FROM deleted_messages);
    RETURN NULL;
END
$$;

--
-- Name: platform_max_replies_per_window(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.platform_max_replies_per_window(p_platform text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE p_platform WHEN 'wechat' THEN 5 END $$;

--
-- Name: platform_reply_window_hours(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.platform_reply_window_hours(p_platform text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE p_platform WHEN 'whatsapp' THEN 24 WHEN 'wechat' THEN 48 END $$;

--
-- Name: purge_events(timestamp with time zone, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.purge_events(p_older_than timestamp with time zone, p_limit integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    purged bigint;
BEGIN
    WITH doomed AS (
        SELECT e.tenant_id, e.seq FROM events e
        WHERE e.occurred_at < p_older_than
        ORDER BY e.occurred_at
        LIMIT p_limit
    ),
    removed AS (
        DELETE FROM events e USING doomed d
        WHERE e.tenant_id = d.tenant_id AND e.seq = d.seq
        RETURNING e.tenant_id, e.seq
    ),
    per_tenant AS (
        SELECT tenant_id, max(seq) AS through, count(*) AS removed FROM removed GROUP BY tenant_id
    ),
    moved AS (
        UPDATE event_log_heads h SET purged_through = GREATEST(h.purged_through, p.through)
        FROM per_tenant p WHERE h.tenant_id = p.tenant_id
        RETURNING p.removed
    )
    SELECT coalesce(sum(removed), 0) INTO purged FROM moved;
    RETURN purged;
END
$$;

--
-- Name: record_whatsapp_dead_letters(text[], text[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.record_whatsapp_dead_letters(p_phone_number_ids text[], p_reasons text[], p_raws bytea[]) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
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

--
-- Name: search_contact_candidates(text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_contact_candidates(p_text text, p_digits text, p_candidates integer) RETURNS TABLE(id uuid, name text, identifier text, rank double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$
DECLARE
    searched CONSTANT text := lower(threadline_unaccent(p_text));
    -- The text matched literally by LIKE (backslash is its escape character).
    pattern CONSTANT text := '%' || replace(replace(replace(searched, '\', '\\'), '%', '\%'), '_', '\_') || '%';
BEGIN
    RETURN QUERY EXECUTE $query$
        SELECT k.id, k.name, k.identifier,
               word_similarity($1, threadline_contact_search_text(k.name, k.identifier, k.phone_digits))::double precision
        FROM contacts k
        WHERE k.tenant_id = app_current_tenant()
          AND (threadline_contact_search_text(k.name, k.identifier, k.phone_digits) LIKE $2
               OR ($3 <> '' AND threadline_contact_search_text(k.name, k.identifier, k.phone_digits) LIKE '%' || $3 || '%'))
        LIMIT $4
    $query$ USING searched, pattern, p_digits, p_candidates;
END
$_$;

--
-- Name: search_message_candidates(tsquery, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_message_candidates(p_words tsquery, p_candidates integer) RETURNS TABLE(id bigint, conversation_id bigint, content text, direction text, is_private boolean, sent_at timestamp with time zone, rank double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    -- The newest messages walked first: enough for a word in one message of twenty to give 200 candidates.
    recent_rows CONSTANT integer := 4000;
    -- Up to this many matches are read through the index; more mean a common word, read newest first.
    few_matches CONSTANT integer := 2000;
    matches bigint[];
    chosen bigint[];
BEGIN
    chosen := ARRAY(SELECT f.id FROM search_message_recent(p_words, p_candidates, recent_rows) f);
    IF cardinality(chosen) < p_candidates THEN
        matches := ARRAY(SELECT f.id FROM search_message_matches(p_words, few_matches) f);
        IF cardinality(matches) < few_matches THEN
            chosen := ARRAY(SELECT u.id FROM unnest(matches) u (id) ORDER BY u.id DESC LIMIT p_candidates);
        ELSE
            chosen := ARRAY(SELECT f.id FROM search_message_newest(p_words, p_candidates) f);
        END IF;
    END IF;
    RETURN QUERY
        SELECT m.id, m.conversation_id, m.content, m.direction, m.is_private, m.sent_at,
               ts_rank_cd(m.search_document, p_words)::double precision
        FROM messages m
        WHERE m.id = ANY(chosen) AND m.tenant_id = app_current_tenant()
          AND NOT EXISTS (SELECT 1 FROM conversations w WHERE w.id = m.conversation_id AND w.platform = 'workspace');
END
$$;

--
-- Name: search_message_matches(tsquery, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_message_matches(p_words tsquery, p_cap integer) RETURNS TABLE(id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET enable_indexscan TO 'off'
    SET enable_seqscan TO 'off'
    AS $$
    SELECT m.id FROM messages m
    WHERE m.tenant_id = app_current_tenant() AND NOT m.is_system AND m.search_document @@ p_words
    LIMIT p_cap
$$;

--
-- Name: search_message_newest(tsquery, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_message_newest(p_words tsquery, p_limit integer) RETURNS TABLE(id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET enable_bitmapscan TO 'off'
    SET enable_seqscan TO 'off'
    AS $$
    SELECT m.id FROM messages m
    WHERE m.tenant_id = app_current_tenant() AND NOT m.is_system AND m.search_document @@ p_words
    ORDER BY m.id DESC
    LIMIT p_limit
$$;

--
-- Name: search_message_recent(tsquery, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_message_recent(p_words tsquery, p_limit integer, p_rows integer) RETURNS TABLE(id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET enable_bitmapscan TO 'off'
    SET enable_seqscan TO 'off'
    AS $$
    SELECT r.id
    FROM (
        SELECT m.id, m.is_system, m.search_document FROM messages m
        WHERE m.tenant_id = app_current_tenant()
        ORDER BY m.id DESC
        LIMIT p_rows
    ) r
    WHERE NOT r.is_system AND r.search_document @@ p_words
    ORDER BY r.id DESC
    LIMIT p_limit
$$;

--
-- Name: template_sync_accounts(timestamp with time zone, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.template_sync_accounts(p_synced_before timestamp with time zone, p_limit integer) RETURNS TABLE(tenant_id uuid, waba_id text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT a.tenant_id, a.waba_id
    FROM (SELECT DISTINCT c.tenant_id, c.waba_id FROM connections c WHERE c.waba_id IS NOT NULL AND c.is_active) a
    LEFT JOIN LATERAL (
        SELECT max(t.synced_at) AS synced_at
        FROM message_templates t WHERE t.tenant_id = a.tenant_id AND t.waba_id = a.waba_id
    ) last ON true
    WHERE last.synced_at IS NULL OR last.synced_at < p_synced_before
    ORDER BY last.synced_at NULLS FIRST, a.tenant_id, a.waba_id
    LIMIT p_limit
$$;

--
-- Name: threadline_contact_search_text(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.threadline_contact_search_text(name text, identifier text, phone_digits text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((((lower(public.threadline_unaccent(COALESCE(name, ''::text))) || ' '::text) || lower(identifier)) || ' '::text) || COALESCE(phone_digits, ''::text));

--
-- Name: threadline_enable_tenant_isolation(regclass); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.threadline_enable_tenant_isolation(p_table regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- regclass prints as a quoted, schema-qualified-when-needed name: safe to splice with %s.
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (tenant_id = app_current_tenant()) '
        'WITH CHECK (tenant_id = app_current_tenant())', p_table);
END
$$;

--
-- Name: connections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.connections (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    connection_id text NOT NULL,
    platform text NOT NULL,
    api_secret_sha256 text NOT NULL,
    phone_number_id text,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    location_id uuid,
    reply_window_hours integer,
    max_replies_per_window integer,
    outbound_url text,
    outbound_secret_ciphertext bytea,
    previous_outbound_secret_ciphertext bytea,
    previous_outbound_secret_expires_at timestamp with time zone,
    copy_media boolean DEFAULT false NOT NULL,
    waba_id text,
    CONSTRAINT connections_api_secret_sha256_check CHECK ((api_secret_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT connections_connection_id_check CHECK (((length(connection_id) >= 1) AND (length(connection_id) <= 200))),
    CONSTRAINT connections_max_replies_per_window_check CHECK (((max_replies_per_window >= 1) AND (max_replies_per_window <= 100000))),
    CONSTRAINT connections_outbound_url_check CHECK (((length(outbound_url) >= 1) AND (length(outbound_url) <= 2048))),
    CONSTRAINT connections_outbound_url_has_secret CHECK (((outbound_url IS NULL) OR (outbound_secret_ciphertext IS NOT NULL))),
    CONSTRAINT connections_platform_check CHECK ((platform = ANY (ARRAY['whatsapp'::text, 'signal'::text, 'telegram'::text, 'wechat'::text]))),
    CONSTRAINT connections_reply_window_hours_check CHECK (((reply_window_hours >= 1) AND (reply_window_hours <= 8760))),
    CONSTRAINT connections_waba_id_check CHECK ((waba_id ~ '^[0-9]{1,64}$'::text))
);

--
-- Name: contacts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.contacts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    identifier text NOT NULL,
    phone_digits text,
    phone_last10 text GENERATED ALWAYS AS ("right"(phone_digits, 10)) STORED,
    name text,
    avatar_url text,
    last_interaction_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    whatsapp_user_id text,
    whatsapp_parent_user_id text,
    CONSTRAINT contacts_identifier_check CHECK ((length(identifier) > 0)),
    CONSTRAINT contacts_phone_digits_check CHECK ((phone_digits ~ '^[0-9]+$'::text)),
    CONSTRAINT contacts_whatsapp_parent_user_id_check CHECK ((length(whatsapp_parent_user_id) > 0)),
    CONSTRAINT contacts_whatsapp_user_id_check CHECK ((length(whatsapp_user_id) > 0))
);

--
-- Name: conversation_labels; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.conversation_labels (
    tenant_id uuid NOT NULL,
    conversation_id bigint NOT NULL,
    label_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: conversation_reads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.conversation_reads (
    tenant_id uuid NOT NULL,
    conversation_id bigint NOT NULL,
    user_id uuid NOT NULL,
    last_read_message_id bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    countable_seen bigint DEFAULT 0 NOT NULL
);

--
-- Name: conversations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.conversations (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    connection_id uuid,
    platform text NOT NULL,
    external_conversation_id text NOT NULL,
    contact_id uuid,
    status text DEFAULT 'open'::text NOT NULL,
    last_message_at timestamp with time zone,
    last_message_preview text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    location_id uuid,
    message_count bigint DEFAULT 0 NOT NULL,
    unread_count integer DEFAULT 0 NOT NULL,
    agent_last_read_at timestamp with time zone,
    snoozed_until timestamp with time zone,
    assignee_id uuid,
    team_id uuid,
    priority text,
    priority_rank smallint GENERATED ALWAYS AS (
CASE priority
    WHEN 'urgent'::text THEN 4
    WHEN 'high'::text THEN 3
    WHEN 'medium'::text THEN 2
    WHEN 'low'::text THEN 1
    ELSE 0
END) STORED NOT NULL,
    waiting_since timestamp with time zone,
    version bigint DEFAULT 1 NOT NULL,
    countable_count bigint DEFAULT 0 NOT NULL,
    last_inbound_at timestamp with time zone,
    window_expires_at timestamp with time zone,
    replies_in_window integer DEFAULT 0 NOT NULL,
    CONSTRAINT conversations_last_message_preview_check CHECK ((length(last_message_preview) <= 100)),
    CONSTRAINT conversations_priority_check CHECK ((priority = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text, 'urgent'::text]))),
    CONSTRAINT conversations_replies_in_window_check CHECK ((replies_in_window >= 0)),
    CONSTRAINT conversations_snooze_needs_snoozed CHECK (((snoozed_until IS NULL) OR (status = 'snoozed'::text))),
    CONSTRAINT conversations_status_check CHECK ((status = ANY (ARRAY['open'::text, 'pending'::text, 'snoozed'::text, 'resolved'::text])))
);

--
-- Name: conversations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.conversations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.conversations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deliveries (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    target_kind text NOT NULL,
    subscription_id uuid,
    connection_id uuid,
    event_type text NOT NULL,
    event_seq bigint,
    body text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_response_status integer,
    last_error text,
    last_response_body text,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    give_up_at timestamp with time zone DEFAULT (now() + '24:00:00'::interval) NOT NULL,
    leased_until timestamp with time zone,
    enqueued_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    CONSTRAINT deliveries_check CHECK (((target_kind = 'webhook'::text) = (subscription_id IS NOT NULL))),
    CONSTRAINT deliveries_check1 CHECK (((target_kind = 'connection'::text) = (connection_id IS NOT NULL))),
    CONSTRAINT deliveries_event_type_check CHECK (((length(event_type) >= 1) AND (length(event_type) <= 100))),
    CONSTRAINT deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'dead'::text]))),
    CONSTRAINT deliveries_target_kind_check CHECK ((target_kind = ANY (ARRAY['webhook'::text, 'connection'::text])))
);

--
-- Name: event_log_heads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.event_log_heads (
    tenant_id uuid NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    purged_through bigint DEFAULT 0 NOT NULL,
    CONSTRAINT event_log_heads_last_seq_check CHECK ((last_seq >= 0)),
    CONSTRAINT event_log_heads_purged_through_check CHECK ((purged_through >= 0))
);

--
-- Name: event_log_window_progress; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.event_log_window_progress (
    only_row boolean DEFAULT true NOT NULL,
    closed_through timestamp with time zone NOT NULL,
    CONSTRAINT event_log_window_progress_only_row_check CHECK (only_row)
);

--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    conversation_id bigint,
    data jsonb NOT NULL
);

--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_keys (
    tenant_id uuid NOT NULL,
    idempotency_key text NOT NULL,
    request_fingerprint text NOT NULL,
    message_id bigint,
    response_status integer,
    response_body jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    CONSTRAINT idempotency_keys_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 255)))
);

--
-- Name: inbox_count_deltas; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.inbox_count_deltas (
    tenant_id uuid NOT NULL,
    status text NOT NULL,
    assignee_id uuid,
    team_id uuid,
    delta integer NOT NULL
);

--
-- Name: labels; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.labels (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    conversation_count integer DEFAULT 0 NOT NULL,
    CONSTRAINT labels_conversation_count_check CHECK ((conversation_count >= 0)),
    CONSTRAINT labels_name_check CHECK (((length(name) >= 1) AND (length(name) <= 50)))
);

--
-- Name: locations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.locations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT locations_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: media_uploads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.media_uploads (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    uploaded_by uuid,
    file_name text NOT NULL,
    mime_type text NOT NULL,
    media_type text NOT NULL,
    size_bytes bigint NOT NULL,
    s3_key text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT media_uploads_file_name_check CHECK (((length(file_name) >= 1) AND (length(file_name) <= 240))),
    CONSTRAINT media_uploads_media_type_check CHECK ((media_type = ANY (ARRAY['image'::text, 'audio'::text, 'video'::text, 'document'::text, 'sticker'::text]))),
    CONSTRAINT media_uploads_size_bytes_check CHECK ((size_bytes > 0))
);

--
-- Name: message_reactions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.message_reactions (
    tenant_id uuid NOT NULL,
    message_id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    side text NOT NULL,
    emoji text,
    contact_id uuid,
    user_id uuid,
    reacted_at timestamp with time zone NOT NULL,
    meta_id text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT message_reactions_emoji_check CHECK (((length(emoji) >= 1) AND (length(emoji) <= 64))),
    CONSTRAINT message_reactions_side_check CHECK ((side = ANY (ARRAY['customer'::text, 'business'::text])))
);

--
-- Name: message_revisions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.message_revisions (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    message_id bigint NOT NULL,
    kind text NOT NULL,
    previous_content text,
    changed_at timestamp with time zone NOT NULL,
    meta_id text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT message_revisions_kind_check CHECK ((kind = ANY (ARRAY['edit'::text, 'revoke'::text]))),
    CONSTRAINT message_revisions_meta_id_check CHECK ((length(meta_id) > 0))
);

--
-- Name: message_revisions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.message_revisions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.message_revisions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: message_templates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.message_templates (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    waba_id text NOT NULL,
    provider_id text,
    name text NOT NULL,
    language text NOT NULL,
    status text NOT NULL,
    category text,
    quality text,
    parameter_format text,
    components jsonb DEFAULT '[]'::jsonb NOT NULL,
    last_event text,
    last_event_reason text,
    synced_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT message_templates_category_check CHECK ((length(category) <= 64)),
    CONSTRAINT message_templates_components_check CHECK ((jsonb_typeof(components) = 'array'::text)),
    CONSTRAINT message_templates_language_check CHECK (((length(language) >= 1) AND (length(language) <= 32))),
    CONSTRAINT message_templates_last_event_check CHECK ((length(last_event) <= 64)),
    CONSTRAINT message_templates_last_event_reason_check CHECK ((length(last_event_reason) <= 1024)),
    CONSTRAINT message_templates_name_check CHECK (((length(name) >= 1) AND (length(name) <= 512))),
    CONSTRAINT message_templates_parameter_format_check CHECK ((length(parameter_format) <= 32)),
    CONSTRAINT message_templates_provider_id_check CHECK ((length(provider_id) <= 64)),
    CONSTRAINT message_templates_quality_check CHECK ((length(quality) <= 32)),
    CONSTRAINT message_templates_status_check CHECK (((length(status) >= 1) AND (length(status) <= 64))),
    CONSTRAINT message_templates_waba_id_check CHECK ((waba_id ~ '^[0-9]{1,64}$'::text))
);

--
-- Name: messages_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.messages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    checksum text
);

--
-- Name: team_members; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.team_members (
    tenant_id uuid NOT NULL,
    team_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: teams; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.teams (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    auto_assign boolean,
    max_open_per_agent integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT teams_max_open_per_agent_check CHECK ((max_open_per_agent > 0)),
    CONSTRAINT teams_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: tenants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tenants (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    auto_assign boolean DEFAULT false NOT NULL,
    max_open_per_agent integer,
    read_receipts text DEFAULT 'never'::text NOT NULL,
    keep_revoked_content boolean DEFAULT true NOT NULL,
    CONSTRAINT tenants_max_open_per_agent_check CHECK ((max_open_per_agent > 0)),
    CONSTRAINT tenants_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT tenants_read_receipts_check CHECK ((read_receipts = ANY (ARRAY['never'::text, 'on_read'::text, 'on_reply'::text])))
);

--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    email text,
    avatar_url text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    availability text DEFAULT 'offline'::text NOT NULL,
    last_assigned_at timestamp with time zone,
    CONSTRAINT users_availability_check CHECK ((availability = ANY (ARRAY['online'::text, 'busy'::text, 'offline'::text])))
);

--
-- Name: webhook_subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_subscriptions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    url text NOT NULL,
    event_types text[] NOT NULL,
    description text,
    secret_ciphertext bytea NOT NULL,
    previous_secret_ciphertext bytea,
    previous_secret_expires_at timestamp with time zone,
    is_active boolean DEFAULT true NOT NULL,
    disabled_reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_subscriptions_description_check CHECK ((length(description) <= 500)),
    CONSTRAINT webhook_subscriptions_event_types_check CHECK (((cardinality(event_types) >= 1) AND (cardinality(event_types) <= 50))),
    CONSTRAINT webhook_subscriptions_url_check CHECK (((length(url) >= 1) AND (length(url) <= 2048)))
);

--
-- Name: websocket_connections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.websocket_connections (
    connection_id text NOT NULL,
    tenant_id uuid NOT NULL,
    user_id text NOT NULL,
    connected_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone DEFAULT (now() + '02:00:00'::interval) NOT NULL,
    CONSTRAINT websocket_connections_connection_id_check CHECK (((length(connection_id) >= 1) AND (length(connection_id) <= 128)))
);

--
-- Name: websocket_subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.websocket_subscriptions (
    tenant_id uuid NOT NULL,
    connection_id text NOT NULL,
    topic text NOT NULL,
    topic_id text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT websocket_subscriptions_topic_check CHECK ((topic = ANY (ARRAY['session'::text, 'conversation'::text, 'inbox'::text]))),
    CONSTRAINT websocket_subscriptions_topic_id_check CHECK (((length(topic_id) >= 1) AND (length(topic_id) <= 200)))
);

--
-- Name: whatsapp_dead_letters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.whatsapp_dead_letters (
    id bigint NOT NULL,
    tenant_id uuid,
    phone_number_id text,
    reason text NOT NULL,
    raw bytea NOT NULL,
    raw_sha256 bytea NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    replayed_at timestamp with time zone,
    replay_attempts integer DEFAULT 0 NOT NULL,
    last_replay_at timestamp with time zone,
    CONSTRAINT whatsapp_dead_letters_reason_check CHECK ((length(reason) > 0)),
    CONSTRAINT whatsapp_dead_letters_replay_attempts_check CHECK ((replay_attempts >= 0))
);

--
-- Name: whatsapp_dead_letters_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.whatsapp_dead_letters ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.whatsapp_dead_letters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: whatsapp_message_aliases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.whatsapp_message_aliases (
    tenant_id uuid NOT NULL,
    meta_id text NOT NULL,
    message_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT whatsapp_message_aliases_meta_id_check CHECK ((length(meta_id) > 0))
);

--
-- Name: window_expiry_progress; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.window_expiry_progress (
    only_row boolean DEFAULT true NOT NULL,
    expired_through timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT window_expiry_progress_only_row_check CHECK (only_row)
);

--
-- Name: workspace_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.workspace_sessions (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    public_id text DEFAULT ('wses_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text)) NOT NULL,
    uuid uuid DEFAULT gen_random_uuid() NOT NULL,
    workspace_id uuid NOT NULL,
    conversation_id bigint NOT NULL,
    title text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT workspace_sessions_public_id_check CHECK ((public_id ~ '^wses_[0-9a-f]{32}$'::text)),
    CONSTRAINT workspace_sessions_title_check CHECK (((length(title) >= 1) AND (length(title) <= 200)))
);

--
-- Name: workspace_sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.workspace_sessions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.workspace_sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: workspaces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.workspaces (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    config_id text,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT workspaces_config_id_check CHECK ((config_id ~ '^[A-Za-z0-9_.:-]{1,200}$'::text)),
    CONSTRAINT workspaces_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: connections connections_connection_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.connections
    ADD CONSTRAINT connections_connection_id_key UNIQUE (connection_id);

--
-- Name: connections connections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.connections
    ADD CONSTRAINT connections_pkey PRIMARY KEY (id);

--
-- Name: contacts contacts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);

--
-- Name: contacts contacts_tenant_id_identifier_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_tenant_id_identifier_key UNIQUE (tenant_id, identifier);

--
-- Name: conversation_labels conversation_labels_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversation_labels
    ADD CONSTRAINT conversation_labels_pkey PRIMARY KEY (conversation_id, label_id);

--
-- Name: conversation_reads conversation_reads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversation_reads
    ADD CONSTRAINT conversation_reads_pkey PRIMARY KEY (conversation_id, user_id);

--
-- Name: conversations conversations_contact_required; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.conversations
    ADD CONSTRAINT conversations_contact_required CHECK (((platform = 'workspace'::text) OR (contact_id IS NOT NULL))) NOT VALID;

--
-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (id);

--
-- Name: conversations conversations_platform_check; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.conversations
    ADD CONSTRAINT conversations_platform_check CHECK ((platform = ANY (ARRAY['whatsapp'::text, 'signal'::text, 'telegram'::text, 'wechat'::text, 'workspace'::text]))) NOT VALID;

--
-- Name: conversations conversations_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_tenant_id_id_key UNIQUE (tenant_id, id);

--
-- Name: conversations conversations_tenant_id_platform_external_conversation_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_tenant_id_platform_external_conversation_id_key UNIQUE (tenant_id, platform, external_conversation_id);

--
-- Name: deliveries deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);

--
-- Name: event_log_heads event_log_heads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event_log_heads
    ADD CONSTRAINT event_log_heads_pkey PRIMARY KEY (tenant_id);

--
-- Name: event_log_window_progress event_log_window_progress_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event_log_window_progress
    ADD CONSTRAINT event_log_window_progress_pkey PRIMARY KEY (only_row);

--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, seq);

--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, idempotency_key);

--
-- Name: labels labels_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.labels
    ADD CONSTRAINT labels_pkey PRIMARY KEY (id);

--
-- Name: labels labels_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.labels
    ADD CONSTRAINT labels_tenant_id_id_key UNIQUE (tenant_id, id);

--
-- Name: locations locations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.locations
    ADD CONSTRAINT locations_pkey PRIMARY KEY (id);

--
-- Name: locations locations_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.locations
    ADD CONSTRAINT locations_tenant_id_id_key UNIQUE (tenant_id, id);

--
-- Name: locations locations_tenant_id_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.locations
    ADD CONSTRAINT locations_tenant_id_name_key UNIQUE (tenant_id, name);

--
-- Name: media_uploads media_uploads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.media_uploads
    ADD CONSTRAINT media_uploads_pkey PRIMARY KEY (id);

--
-- Name: message_media message_media_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_media
    ADD CONSTRAINT message_media_pkey PRIMARY KEY (message_id);

--
-- Name: message_reactions message_reactions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_reactions
    ADD CONSTRAINT message_reactions_pkey PRIMARY KEY (message_id, side);

--
-- Name: message_revisions message_revisions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_revisions
    ADD CONSTRAINT message_revisions_pkey PRIMARY KEY (id);

--
-- Name: message_revisions message_revisions_tenant_id_meta_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_revisions
    ADD CONSTRAINT message_revisions_tenant_id_meta_id_key UNIQUE (tenant_id, meta_id);

--
-- Name: message_templates message_templates_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_templates
    ADD CONSTRAINT message_templates_pkey PRIMARY KEY (id);

--
-- Name: message_templates message_templates_tenant_id_waba_id_name_language_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_templates
    ADD CONSTRAINT message_templates_tenant_id_waba_id_name_language_key UNIQUE (tenant_id, waba_id, name, language);

--
-- Name: messages messages_channel_check; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_channel_check CHECK (((length(channel) >= 1) AND (length(channel) <= 100))) NOT VALID;

--
-- Name: messages messages_content_type_check; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_content_type_check CHECK ((content_type = ANY (ARRAY['text'::text, 'json'::text]))) NOT VALID;

--
-- Name: messages messages_context_type_check; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_context_type_check CHECK (((length(context_type) >= 1) AND (length(context_type) <= 100))) NOT VALID;

--
-- Name: messages messages_conversation_id_external_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_conversation_id_external_id_key UNIQUE (conversation_id, external_id);

--
-- Name: messages messages_metadata_check; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)) NOT VALID;

--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);

--
-- Name: messages messages_thread_id_check; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_thread_id_check CHECK (((length(thread_id) >= 1) AND (length(thread_id) <= 256))) NOT VALID;

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: team_members team_members_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_members
    ADD CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id);

--
-- Name: teams teams_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams
    ADD CONSTRAINT teams_pkey PRIMARY KEY (id);

--
-- Name: teams teams_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams
    ADD CONSTRAINT teams_tenant_id_id_key UNIQUE (tenant_id, id);

--
-- Name: teams teams_tenant_id_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams
    ADD CONSTRAINT teams_tenant_id_name_key UNIQUE (tenant_id, name);

--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: users users_tenant_id_email_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_email_key UNIQUE (tenant_id, email);

--
-- Name: users users_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_id_key UNIQUE (tenant_id, id);

--
-- Name: webhook_subscriptions webhook_subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id);

--
-- Name: webhook_subscriptions webhook_subscriptions_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_tenant_id_id_key UNIQUE (tenant_id, id);

--
-- Name: websocket_connections websocket_connections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.websocket_connections
    ADD CONSTRAINT websocket_connections_pkey PRIMARY KEY (connection_id);

--
-- Name: websocket_connections websocket_connections_tenant_id_connection_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.websocket_connections
    ADD CONSTRAINT websocket_connections_tenant_id_connection_id_key UNIQUE (tenant_id, connection_id);

--
-- Name: websocket_subscriptions websocket_subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.websocket_subscriptions
    ADD CONSTRAINT websocket_subscriptions_pkey PRIMARY KEY (connection_id, topic, topic_id);

--
-- Name: whatsapp_dead_letters whatsapp_dead_letters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.whatsapp_dead_letters
    ADD CONSTRAINT whatsapp_dead_letters_pkey PRIMARY KEY (id);

--
-- Name: whatsapp_dead_letters whatsapp_dead_letters_raw_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.whatsapp_dead_letters
    ADD CONSTRAINT whatsapp_dead_letters_raw_sha256_key UNIQUE (raw_sha256);

--
-- Name: whatsapp_message_aliases whatsapp_message_aliases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.whatsapp_message_aliases
    ADD CONSTRAINT whatsapp_message_aliases_pkey PRIMARY KEY (tenant_id, meta_id);

--
-- Name: window_expiry_progress window_expiry_progress_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.window_expiry_progress
    ADD CONSTRAINT window_expiry_progress_pkey PRIMARY KEY (only_row);

--
-- Name: workspace_sessions workspace_sessions_conversation_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspace_sessions
    ADD CONSTRAINT workspace_sessions_conversation_id_key UNIQUE (conversation_id);

--
-- Name: workspace_sessions workspace_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspace_sessions
    ADD CONSTRAINT workspace_sessions_pkey PRIMARY KEY (id);

--
-- Name: workspace_sessions workspace_sessions_public_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspace_sessions
    ADD CONSTRAINT workspace_sessions_public_id_key UNIQUE (public_id);

--
-- Name: workspace_sessions workspace_sessions_uuid_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspace_sessions
    ADD CONSTRAINT workspace_sessions_uuid_key UNIQUE (uuid);

--
-- Name: workspaces workspaces_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspaces
    ADD CONSTRAINT workspaces_pkey PRIMARY KEY (id);

--
-- Name: workspaces workspaces_tenant_id_config_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspaces
    ADD CONSTRAINT workspaces_tenant_id_config_id_key UNIQUE (tenant_id, config_id);

--
-- Name: workspaces workspaces_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspaces
    ADD CONSTRAINT workspaces_tenant_id_id_key UNIQUE (tenant_id, id);

--
-- Name: connections_location_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX connections_location_idx ON public.connections USING btree (location_id) WHERE (location_id IS NOT NULL);

--
-- Name: connections_tenant_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX connections_tenant_idx ON public.connections USING btree (tenant_id);

--
-- Name: connections_waba_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX connections_waba_idx ON public.connections USING btree (waba_id) WHERE (waba_id IS NOT NULL);

--
-- Name: connections_whatsapp_number_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX connections_whatsapp_number_idx ON public.connections USING btree (phone_number_id) WHERE ((platform = 'whatsapp'::text) AND (phone_number_id IS NOT NULL));

--
-- Name: contacts_phone_digits_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX contacts_phone_digits_idx ON public.contacts USING btree (tenant_id, phone_digits) WHERE (phone_digits IS NOT NULL);

--
-- Name: contacts_phone_last10_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX contacts_phone_last10_idx ON public.contacts USING btree (tenant_id, phone_last10) WHERE (phone_last10 IS NOT NULL);

--
-- Name: contacts_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX contacts_search_idx ON public.contacts USING gin (tenant_id, public.threadline_contact_search_text(name, identifier, phone_digits) public.gin_trgm_ops);

--
-- Name: contacts_whatsapp_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX contacts_whatsapp_user_idx ON public.contacts USING btree (tenant_id, whatsapp_user_id) WHERE (whatsapp_user_id IS NOT NULL);

--
-- Name: conversation_labels_conversation_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversation_labels_conversation_idx ON public.conversation_labels USING btree (tenant_id, conversation_id, created_at);

--
-- Name: conversation_labels_label_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversation_labels_label_idx ON public.conversation_labels USING btree (tenant_id, label_id, conversation_id);

--
-- Name: conversations_assignee_status_activity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_assignee_status_activity_idx ON public.conversations USING btree (tenant_id, assignee_id, status, last_message_at DESC NULLS LAST, id DESC) INCLUDE (platform, priority_rank) WHERE (assignee_id IS NOT NULL);

--
-- Name: conversations_connection_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_connection_idx ON public.conversations USING btree (connection_id);

--
-- Name: conversations_contact_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_contact_idx ON public.conversations USING btree (contact_id);

--
-- Name: conversations_inbox_activity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_inbox_activity_idx ON public.conversations USING btree (tenant_id, last_message_at DESC NULLS LAST, id DESC) WHERE (platform <> 'workspace'::text);

--
-- Name: conversations_location_activity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_location_activity_idx ON public.conversations USING btree (tenant_id, location_id, last_message_at DESC NULLS LAST, id DESC) WHERE ((location_id IS NOT NULL) AND (platform <> 'workspace'::text));

--
-- Name: conversations_location_status_activity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_location_status_activity_idx ON public.conversations USING btree (tenant_id, location_id, status, last_message_at DESC NULLS LAST, id DESC) WHERE ((location_id IS NOT NULL) AND (platform <> 'workspace'::text));

--
-- Name: conversations_priority_activity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_priority_activity_idx ON public.conversations USING btree (tenant_id, priority_rank DESC, last_message_at DESC NULLS LAST, id DESC) WHERE (platform <> 'workspace'::text);

--
-- Name: conversations_snooze_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_snooze_due_idx ON public.conversations USING btree (snoozed_until) WHERE (snoozed_until IS NOT NULL);

--
-- Name: conversations_status_activity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_status_activity_idx ON public.conversations USING btree (tenant_id, status, last_message_at DESC NULLS LAST, id DESC) WHERE (platform <> 'workspace'::text);

--
-- Name: conversations_team_activity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_team_activity_idx ON public.conversations USING btree (tenant_id, team_id, last_message_at DESC NULLS LAST, id DESC) INCLUDE (status) WHERE ((team_id IS NOT NULL) AND (platform <> 'workspace'::text));

--
-- Name: conversations_unassigned_queue_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_unassigned_queue_idx ON public.conversations USING btree (tenant_id, waiting_since, created_at, id) WHERE ((assignee_id IS NULL) AND (status = 'open'::text) AND (platform <> 'workspace'::text));

--
-- Name: conversations_waiting_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_waiting_idx ON public.conversations USING btree (tenant_id, waiting_since, id) WHERE (platform <> 'workspace'::text);

--
-- Name: conversations_window_expires_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_window_expires_idx ON public.conversations USING btree (window_expires_at) WHERE (window_expires_at IS NOT NULL);

--
-- Name: deliveries_connection_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX deliveries_connection_idx ON public.deliveries USING btree (connection_id, status) WHERE (connection_id IS NOT NULL);

--
-- Name: deliveries_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX deliveries_due_idx ON public.deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);

--
-- Name: deliveries_subscription_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX deliveries_subscription_idx ON public.deliveries USING btree (tenant_id, subscription_id, created_at DESC, id DESC) WHERE (subscription_id IS NOT NULL);

--
-- Name: deliveries_unqueued_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX deliveries_unqueued_idx ON public.deliveries USING btree (tenant_id) WHERE ((status = 'pending'::text) AND (enqueued_at IS NULL));

--
-- Name: events_conversation_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_conversation_idx ON public.events USING btree (tenant_id, conversation_id, seq) WHERE (conversation_id IS NOT NULL);

--
-- Name: events_occurred_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_occurred_idx ON public.events USING brin (occurred_at);

--
-- Name: inbox_count_deltas_tenant_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inbox_count_deltas_tenant_idx ON public.inbox_count_deltas USING btree (tenant_id, status);

--
-- Name: labels_name_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX labels_name_key ON public.labels USING btree (tenant_id, lower(name));

--
-- Name: message_media_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX message_media_pending ON public.message_media USING btree (next_attempt_at) WHERE (state = 'pending'::text);

--
-- Name: message_revisions_message_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX message_revisions_message_idx ON public.message_revisions USING btree (message_id, changed_at);

--
-- Name: message_templates_provider_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX message_templates_provider_idx ON public.message_templates USING btree (tenant_id, waba_id, provider_id);

--
-- Name: messages_billable_category_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_billable_category_idx ON public.messages USING btree (tenant_id, conversation_id, ((pricing ->> 'category'::text))) WHERE public.message_is_billable(pricing);

--
-- Name: messages_countable_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_countable_idx ON public.messages USING btree (tenant_id, conversation_id, id) WHERE (((direction = 'inbound'::text) AND (NOT is_system)) OR is_private);

--
-- Name: messages_meta_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX messages_meta_id_idx ON public.messages USING btree (tenant_id, meta_id) WHERE (meta_id IS NOT NULL);

--
-- Name: messages_outbound_external_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_outbound_external_idx ON public.messages USING btree (tenant_id, external_id) WHERE (direction = 'outbound'::text);

--
-- Name: messages_pending_external_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_pending_external_idx ON public.messages USING btree (tenant_id, external_id) WHERE ((meta_id IS NULL) AND (status = 'pending'::text));

--
-- Name: messages_pending_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_pending_idx ON public.messages USING btree (created_at, id) WHERE (status = 'pending'::text);

--
-- Name: messages_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_search_idx ON public.messages USING gin (tenant_id, search_document);

--
-- Name: messages_tenant_timeline_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_tenant_timeline_idx ON public.messages USING btree (tenant_id, conversation_id, sent_at DESC, id DESC);

--
-- Name: messages_thread_timeline_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_thread_timeline_idx ON public.messages USING btree (tenant_id, conversation_id, thread_id, sent_at DESC, id DESC) WHERE (thread_id IS NOT NULL);

--
-- Name: team_members_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX team_members_user_idx ON public.team_members USING btree (tenant_id, user_id);

--
-- Name: users_tenant_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_tenant_idx ON public.users USING btree (tenant_id);

--
-- Name: webhook_subscriptions_active_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_subscriptions_active_idx ON public.webhook_subscriptions USING btree (tenant_id) WHERE is_active;

--
-- Name: websocket_connections_expiry_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX websocket_connections_expiry_idx ON public.websocket_connections USING btree (tenant_id, expires_at);

--
-- Name: websocket_subscriptions_topic_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX websocket_subscriptions_topic_idx ON public.websocket_subscriptions USING btree (tenant_id, topic, topic_id);

--
-- Name: whatsapp_dead_letters_open_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX whatsapp_dead_letters_open_idx ON public.whatsapp_dead_letters USING btree (received_at, id) WHERE (replayed_at IS NULL);

--
-- Name: whatsapp_dead_letters_tenant_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX whatsapp_dead_letters_tenant_idx ON public.whatsapp_dead_letters USING btree (tenant_id, received_at) WHERE (tenant_id IS NOT NULL);

--
-- Name: whatsapp_message_aliases_message_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX whatsapp_message_aliases_message_idx ON public.whatsapp_message_aliases USING btree (message_id);

--
-- Name: workspace_sessions_workspace_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX workspace_sessions_workspace_idx ON public.workspace_sessions USING btree (tenant_id, workspace_id, created_at DESC);

--
-- Name: connections connections_move_conversations; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER connections_move_conversations AFTER UPDATE OF location_id ON public.connections FOR EACH ROW WHEN ((old.location_id IS DISTINCT FROM new.location_id)) EXECUTE FUNCTION public.connections_move_conversations();

--
-- Name: conversation_labels conversation_labels_append_added_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversation_labels_append_added_events AFTER INSERT ON public.conversation_labels REFERENCING NEW TABLE AS changed_labels FOR EACH STATEMENT EXECUTE FUNCTION public.conversation_labels_append_events();

--
-- Name: conversation_labels conversation_labels_append_removed_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversation_labels_append_removed_events AFTER DELETE ON public.conversation_labels REFERENCING OLD TABLE AS changed_labels FOR EACH STATEMENT EXECUTE FUNCTION public.conversation_labels_append_events();

--
-- Name: conversation_labels conversation_labels_count_into_labels; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversation_labels_count_into_labels AFTER INSERT ON public.conversation_labels REFERENCING NEW TABLE AS added_labels FOR EACH STATEMENT EXECUTE FUNCTION public.conversation_labels_count_into_labels();

--
-- Name: conversation_labels conversation_labels_uncount_from_labels; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversation_labels_uncount_from_labels AFTER DELETE ON public.conversation_labels REFERENCING OLD TABLE AS removed_labels FOR EACH STATEMENT EXECUTE FUNCTION public.conversation_labels_uncount_from_labels();

--
-- Name: conversations conversations_append_changed_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_append_changed_events AFTER UPDATE ON public.conversations REFERENCING OLD TABLE AS old_conversations NEW TABLE AS new_conversations FOR EACH STATEMENT EXECUTE FUNCTION public.conversations_append_changed_events();

--
-- Name: conversations conversations_append_created_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_append_created_events AFTER INSERT ON public.conversations REFERENCING NEW TABLE AS added_conversations FOR EACH STATEMENT EXECUTE FUNCTION public.conversations_append_created_events();

--
-- Name: conversations conversations_append_window_opened_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_append_window_opened_events AFTER INSERT ON public.conversations REFERENCING NEW TABLE AS new_conversations FOR EACH STATEMENT EXECUTE FUNCTION public.conversations_append_window_events();

--
-- Name: conversations conversations_append_window_reopened_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_append_window_reopened_events AFTER UPDATE ON public.conversations REFERENCING OLD TABLE AS old_conversations NEW TABLE AS new_conversations FOR EACH STATEMENT EXECUTE FUNCTION public.conversations_append_window_events();

--
-- Name: conversations conversations_bump_version; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_bump_version BEFORE UPDATE OF status, snoozed_until, assignee_id, team_id, priority ON public.conversations FOR EACH ROW EXECUTE FUNCTION public.conversations_bump_version();

--
-- Name: conversations conversations_open_window; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_open_window BEFORE UPDATE OF last_inbound_at ON public.conversations FOR EACH ROW WHEN (((new.last_inbound_at > old.last_inbound_at) OR ((old.last_inbound_at IS NULL) AND (new.last_inbound_at IS NOT NULL)))) EXECUTE FUNCTION public.conversations_open_window();

--
-- Name: conversations conversations_open_window_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_open_window_on_insert BEFORE INSERT ON public.conversations FOR EACH ROW WHEN ((new.last_inbound_at IS NOT NULL)) EXECUTE FUNCTION public.conversations_open_window();

--
-- Name: conversations conversations_take_connection_location; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_take_connection_location BEFORE INSERT OR UPDATE OF connection_id ON public.conversations FOR EACH ROW EXECUTE FUNCTION public.conversations_take_connection_location();

--
-- Name: events events_fan_out_to_webhooks; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER events_fan_out_to_webhooks AFTER INSERT ON public.events REFERENCING NEW TABLE AS appended_events FOR EACH STATEMENT EXECUTE FUNCTION public.events_fan_out_to_webhooks();

--
-- Name: conversations inbox_counts_add_created; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inbox_counts_add_created AFTER INSERT ON public.conversations REFERENCING NEW TABLE AS created_conversations FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_counts_add_created();

--
-- Name: conversations inbox_counts_move_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inbox_counts_move_changed AFTER UPDATE OF status, assignee_id, team_id ON public.conversations FOR EACH ROW WHEN (((((old.status IS DISTINCT FROM new.status) OR (old.assignee_id IS DISTINCT FROM new.assignee_id)) OR (old.team_id IS DISTINCT FROM new.team_id)) AND (old.platform <> 'workspace'::text))) EXECUTE FUNCTION public.inbox_counts_move_changed();

--
-- Name: conversations inbox_counts_remove_deleted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inbox_counts_remove_deleted AFTER DELETE ON public.conversations REFERENCING OLD TABLE AS deleted_conversations FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_counts_remove_deleted();

--
-- Name: message_media message_media_append_changed_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER message_media_append_changed_events AFTER UPDATE ON public.message_media REFERENCING OLD TABLE AS old_media NEW TABLE AS new_media FOR EACH STATEMENT EXECUTE FUNCTION public.message_media_append_changed_events();

--
-- Name: message_reactions message_reactions_append_added_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER message_reactions_append_added_events AFTER INSERT ON public.message_reactions REFERENCING NEW TABLE AS changed_reactions FOR EACH STATEMENT EXECUTE FUNCTION public.message_reactions_append_events();

--
-- Name: message_reactions message_reactions_append_changed_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER message_reactions_append_changed_events AFTER UPDATE ON public.message_reactions REFERENCING NEW TABLE AS changed_reactions FOR EACH STATEMENT EXECUTE FUNCTION public.message_reactions_append_events();

--
-- Name: messages messages_append_changed_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER messages_append_changed_events AFTER UPDATE ON public.messages REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION public.messages_append_changed_events();

--
-- Name: messages messages_append_created_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER messages_append_created_events AFTER INSERT ON public.messages REFERENCING NEW TABLE AS added_messages FOR EACH STATEMENT EXECUTE FUNCTION public.messages_append_created_events();

--
-- Name: messages messages_count_into_conversations; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER messages_count_into_conversations AFTER INSERT ON public.messages REFERENCING NEW TABLE AS inserted_messages FOR EACH STATEMENT EXECUTE FUNCTION public.messages_count_into_conversations();

--
-- Name: messages messages_uncount_from_conversations; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER messages_uncount_from_conversations AFTER DELETE ON public.messages REFERENCING OLD TABLE AS deleted_messages FOR EACH STATEMENT EXECUTE FUNCTION public.messages_uncount_from_conversations();

--
-- Name: messages messages_untrack_read_state; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER messages_untrack_read_state AFTER DELETE ON public.messages REFERENCING OLD TABLE AS deleted_messages FOR EACH STATEMENT EXECUTE FUNCTION public.messages_untrack_read_state();

--
-- Name: connections connections_location_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.connections
    ADD CONSTRAINT connections_location_fkey FOREIGN KEY (tenant_id, location_id) REFERENCES public.locations(tenant_id, id) ON DELETE SET NULL (location_id);

--
-- Name: connections connections_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.connections
    ADD CONSTRAINT connections_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: contacts contacts_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: conversation_labels conversation_labels_tenant_id_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversation_labels
    ADD CONSTRAINT conversation_labels_tenant_id_conversation_id_fkey FOREIGN KEY (tenant_id, conversation_id) REFERENCES public.conversations(tenant_id, id) ON DELETE CASCADE;

--
-- Name: conversation_labels conversation_labels_tenant_id_label_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversation_labels
    ADD CONSTRAINT conversation_labels_tenant_id_label_id_fkey FOREIGN KEY (tenant_id, label_id) REFERENCES public.labels(tenant_id, id) ON DELETE CASCADE;

--
-- Name: conversation_reads conversation_reads_tenant_id_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversation_reads
    ADD CONSTRAINT conversation_reads_tenant_id_conversation_id_fkey FOREIGN KEY (tenant_id, conversation_id) REFERENCES public.conversations(tenant_id, id) ON DELETE CASCADE;

--
-- Name: conversation_reads conversation_reads_tenant_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversation_reads
    ADD CONSTRAINT conversation_reads_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES public.users(tenant_id, id) ON DELETE CASCADE;

--
-- Name: conversations conversations_assignee_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_assignee_fkey FOREIGN KEY (tenant_id, assignee_id) REFERENCES public.users(tenant_id, id) ON DELETE SET NULL (assignee_id);

--
-- Name: conversations conversations_connection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_connection_id_fkey FOREIGN KEY (connection_id) REFERENCES public.connections(id) ON DELETE SET NULL;

--
-- Name: conversations conversations_contact_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES public.contacts(id);

--
-- Name: conversations conversations_location_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_location_fkey FOREIGN KEY (tenant_id, location_id) REFERENCES public.locations(tenant_id, id) ON DELETE SET NULL (location_id);

--
-- Name: conversations conversations_team_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_team_fkey FOREIGN KEY (tenant_id, team_id) REFERENCES public.teams(tenant_id, id) ON DELETE SET NULL (team_id);

--
-- Name: conversations conversations_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: deliveries deliveries_connection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_connection_id_fkey FOREIGN KEY (connection_id) REFERENCES public.connections(id) ON DELETE CASCADE;

--
-- Name: deliveries deliveries_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: deliveries deliveries_tenant_id_subscription_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_tenant_id_subscription_id_fkey FOREIGN KEY (tenant_id, subscription_id) REFERENCES public.webhook_subscriptions(tenant_id, id) ON DELETE CASCADE;

--
-- Name: event_log_heads event_log_heads_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event_log_heads
    ADD CONSTRAINT event_log_heads_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: idempotency_keys idempotency_keys_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: labels labels_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.labels
    ADD CONSTRAINT labels_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: locations locations_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.locations
    ADD CONSTRAINT locations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: media_uploads media_uploads_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.media_uploads
    ADD CONSTRAINT media_uploads_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: message_media message_media_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_media
    ADD CONSTRAINT message_media_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

--
-- Name: message_media message_media_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_media
    ADD CONSTRAINT message_media_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: message_reactions message_reactions_contact_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_reactions
    ADD CONSTRAINT message_reactions_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES public.contacts(id) ON DELETE SET NULL;

--
-- Name: message_reactions message_reactions_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_reactions
    ADD CONSTRAINT message_reactions_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

--
-- Name: message_reactions message_reactions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_reactions
    ADD CONSTRAINT message_reactions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE SET NULL;

--
-- Name: message_revisions message_revisions_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_revisions
    ADD CONSTRAINT message_revisions_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

--
-- Name: message_templates message_templates_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_templates
    ADD CONSTRAINT message_templates_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: messages messages_author_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_author_user_id_fkey FOREIGN KEY (author_user_id) REFERENCES public.users(id);

--
-- Name: messages messages_tenant_id_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_tenant_id_conversation_id_fkey FOREIGN KEY (tenant_id, conversation_id) REFERENCES public.conversations(tenant_id, id) ON DELETE CASCADE;

--
-- Name: team_members team_members_tenant_id_team_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_members
    ADD CONSTRAINT team_members_tenant_id_team_id_fkey FOREIGN KEY (tenant_id, team_id) REFERENCES public.teams(tenant_id, id) ON DELETE CASCADE;

--
-- Name: team_members team_members_tenant_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_members
    ADD CONSTRAINT team_members_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES public.users(tenant_id, id) ON DELETE CASCADE;

--
-- Name: teams teams_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams
    ADD CONSTRAINT teams_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: users users_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: webhook_subscriptions webhook_subscriptions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: websocket_connections websocket_connections_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.websocket_connections
    ADD CONSTRAINT websocket_connections_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: websocket_subscriptions websocket_subscriptions_tenant_id_connection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.websocket_subscriptions
    ADD CONSTRAINT websocket_subscriptions_tenant_id_connection_id_fkey FOREIGN KEY (tenant_id, connection_id) REFERENCES public.websocket_connections(tenant_id, connection_id) ON DELETE CASCADE;

--
-- Name: whatsapp_dead_letters whatsapp_dead_letters_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.whatsapp_dead_letters
    ADD CONSTRAINT whatsapp_dead_letters_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: whatsapp_message_aliases whatsapp_message_aliases_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.whatsapp_message_aliases
    ADD CONSTRAINT whatsapp_message_aliases_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

--
-- Name: workspace_sessions workspace_sessions_tenant_id_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspace_sessions
    ADD CONSTRAINT workspace_sessions_tenant_id_conversation_id_fkey FOREIGN KEY (tenant_id, conversation_id) REFERENCES public.conversations(tenant_id, id) ON DELETE CASCADE;

--
-- Name: workspace_sessions workspace_sessions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspace_sessions
    ADD CONSTRAINT workspace_sessions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: workspace_sessions workspace_sessions_tenant_id_workspace_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspace_sessions
    ADD CONSTRAINT workspace_sessions_tenant_id_workspace_id_fkey FOREIGN KEY (tenant_id, workspace_id) REFERENCES public.workspaces(tenant_id, id) ON DELETE CASCADE;

--
-- Name: workspaces workspaces_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspaces
    ADD CONSTRAINT workspaces_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

--
-- Name: connections; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.connections ENABLE ROW LEVEL SECURITY;

--
-- Name: contacts; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.contacts ENABLE ROW LEVEL SECURITY;

--
-- Name: conversation_labels; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.conversation_labels ENABLE ROW LEVEL SECURITY;

--
-- Name: conversation_reads; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.conversation_reads ENABLE ROW LEVEL SECURITY;

--
-- Name: conversations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;

--
-- Name: deliveries; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.deliveries ENABLE ROW LEVEL SECURITY;

--
-- Name: event_log_heads; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.event_log_heads ENABLE ROW LEVEL SECURITY;

--
-- Name: events; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;

--
-- Name: idempotency_keys; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: inbox_count_deltas; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.inbox_count_deltas ENABLE ROW LEVEL SECURITY;

--
-- Name: labels; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.labels ENABLE ROW LEVEL SECURITY;

--
-- Name: locations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.locations ENABLE ROW LEVEL SECURITY;

--
-- Name: media_uploads; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.media_uploads ENABLE ROW LEVEL SECURITY;

--
-- Name: message_media; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.message_media ENABLE ROW LEVEL SECURITY;

--
-- Name: message_reactions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.message_reactions ENABLE ROW LEVEL SECURITY;

--
-- Name: message_revisions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.message_revisions ENABLE ROW LEVEL SECURITY;

--
-- Name: message_templates; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.message_templates ENABLE ROW LEVEL SECURITY;

--
-- Name: messages; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;

--
-- Name: team_members; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.team_members ENABLE ROW LEVEL SECURITY;

--
-- Name: teams; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.teams ENABLE ROW LEVEL SECURITY;

--
-- Name: connections tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.connections USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: contacts tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.contacts USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: conversation_labels tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.conversation_labels USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: conversation_reads tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.conversation_reads USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: conversations tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.conversations USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: deliveries tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.deliveries USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: event_log_heads tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.event_log_heads USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: events tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.events USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: idempotency_keys tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.idempotency_keys USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: inbox_count_deltas tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.inbox_count_deltas USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: labels tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.labels USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: locations tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.locations USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: media_uploads tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.media_uploads USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: message_media tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.message_media USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: message_reactions tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.message_reactions USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: message_revisions tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.message_revisions USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: message_templates tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.message_templates USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: messages tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.messages USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: team_members tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.team_members USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: teams tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.teams USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tenants tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.tenants USING ((id = public.app_current_tenant())) WITH CHECK ((id = public.app_current_tenant()));

--
-- Name: users tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.users USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: webhook_subscriptions tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.webhook_subscriptions USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: websocket_connections tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.websocket_connections USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: websocket_subscriptions tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.websocket_subscriptions USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: whatsapp_dead_letters tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.whatsapp_dead_letters USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: whatsapp_message_aliases tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.whatsapp_message_aliases USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: workspace_sessions tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.workspace_sessions USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: workspaces tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.workspaces USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tenants; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;

--
-- Name: users; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

--
-- Name: webhook_subscriptions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.webhook_subscriptions ENABLE ROW LEVEL SECURITY;

--
-- Name: websocket_connections; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.websocket_connections ENABLE ROW LEVEL SECURITY;

--
-- Name: websocket_subscriptions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.websocket_subscriptions ENABLE ROW LEVEL SECURITY;

--
-- Name: whatsapp_dead_letters; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.whatsapp_dead_letters ENABLE ROW LEVEL SECURITY;

--
-- Name: whatsapp_message_aliases; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.whatsapp_message_aliases ENABLE ROW LEVEL SECURITY;

--
-- Name: workspace_sessions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.workspace_sessions ENABLE ROW LEVEL SECURITY;

--
-- Name: workspaces; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.workspaces ENABLE ROW LEVEL SECURITY;
