-- Finding work (issue 10, section 5): the inbox counts kept by the writes, full-text and fuzzy search, and the
-- indexes the list's new filters and sorts need. After 0011 (assignee, team, priority, labels, waiting_since).
--
-- unaccent, pg_trgm and btree_gin ship with PostgreSQL's contrib (the embedded server and RDS both carry them).
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- ---------------------------------------------------------------------------------------------------------------
-- The inbox counts: an append-only ledger of deltas, summed on read, compacted by the scheduled function
-- ---------------------------------------------------------------------------------------------------------------
-- "mine / unassigned / all" per status (and per team) must be exact and must not cost a count of the tenant's
-- conversations on every call. Counter rows (one per tenant, status, assignee, team) would be updated by every
-- transaction that creates, assigns or resolves a conversation: two ingests creating conversations for the same
-- tenant would queue on the same "open, unassigned" row for the rest of their transactions, and two transactions
-- touching two such rows in opposite orders deadlock. Appending a delta row takes no lock anybody else waits for.
-- A read sums the tenant's rows for the asked statuses: after compaction one row per (status, assignee, team) in
-- use, plus what was written since the last run (make bench-read measures it).
--
-- No foreign keys: a tenant's deletion cascades to its conversations, whose delete trigger appends the negative
-- deltas after the tenant row is gone; those rows sum to zero and compaction removes them.
CREATE TABLE inbox_count_deltas (
    tenant_id   uuid NOT NULL,
    status      text NOT NULL,
    assignee_id uuid,
    team_id     uuid,
    delta       integer NOT NULL
);
-- The read: one tenant, one or a few statuses.
CREATE INDEX inbox_count_deltas_tenant_idx ON inbox_count_deltas (tenant_id, status);
SELECT threadline_enable_tenant_isolation('inbox_count_deltas');
-- The functions only read it: the triggers below (owned by the schema owner) are the only writers, so no
-- application code can make the counts drift.
GRANT SELECT ON inbox_count_deltas TO threadline_app;

-- Conversations created (ingest, webhook, send) in one statement: one delta row per key, however many rows.
-- Workspace chat sessions are conversations of the same table, but not the inbox's.
CREATE FUNCTION inbox_counts_add_created() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
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
CREATE TRIGGER inbox_counts_add_created
    AFTER INSERT ON conversations REFERENCING NEW TABLE AS created_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_add_created();

CREATE FUNCTION inbox_counts_remove_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
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
CREATE TRIGGER inbox_counts_remove_deleted
    AFTER DELETE ON conversations REFERENCING OLD TABLE AS deleted_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_remove_deleted();

-- A change of status, assignee or team moves one conversation from one key to another. A row trigger limited to
-- those columns (and to real changes): the ingest path, which updates last_message_at and the counters of
-- conversations on every message, never fires it. (A statement trigger with transition tables cannot have a
-- column list, so it would run, and join old to new rows, on every ingest.) An assignee or team deleted elsewhere
-- nulls the column through its foreign key's SET NULL, which is an UPDATE of that column and fires this too.
CREATE FUNCTION inbox_counts_move_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO inbox_count_deltas (tenant_id, status, assignee_id, team_id, delta)
    VALUES (OLD.tenant_id, OLD.status, OLD.assignee_id, OLD.team_id, -1),
           (NEW.tenant_id, NEW.status, NEW.assignee_id, NEW.team_id, 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER inbox_counts_move_changed
    AFTER UPDATE OF status, assignee_id, team_id ON conversations
    FOR EACH ROW
    WHEN ((OLD.status, OLD.assignee_id, OLD.team_id) IS DISTINCT FROM (NEW.status, NEW.assignee_id, NEW.team_id)
          AND OLD.platform <> 'workspace')
    EXECUTE FUNCTION inbox_counts_move_changed();

-- The conversations that exist already.
INSERT INTO inbox_count_deltas (tenant_id, status, assignee_id, team_id, delta)
SELECT tenant_id, status, assignee_id, team_id, count(*)
FROM conversations
WHERE platform <> 'workspace'
GROUP BY tenant_id, status, assignee_id, team_id;

-- Compaction, across every tenant (the scheduled function's narrow door through RLS, like expire_closed_windows):
-- replaces the rows it sees by their sums, one row per key, dropping keys that sum to zero. Rows appended by
-- transactions still in flight are not in its snapshot and stay, so every sum is the same before and after; a
-- reader sees either all the old rows or all the new ones (one statement, one commit). Two overlapping runs: the
-- second skips the rows the first deleted and leaves the first's sums alone (they are not in its snapshot).
CREATE FUNCTION compact_inbox_count_deltas()
    RETURNS TABLE (rows_before bigint, rows_after bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
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
REVOKE ALL ON FUNCTION compact_inbox_count_deltas() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION compact_inbox_count_deltas() TO threadline_app;

-- ---------------------------------------------------------------------------------------------------------------
-- Search
-- ---------------------------------------------------------------------------------------------------------------
-- unaccent() is STABLE (its dictionary could change), so an index cannot use it directly. These wrappers name the
-- dictionary explicitly and are declared IMMUTABLE: the dictionary ships with the extension and is not edited
-- here. The SQL-standard bodies bind their names at creation, whatever the caller's search_path.
CREATE FUNCTION threadline_unaccent(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN unaccent('unaccent'::regdictionary, value);

-- A message's searchable words: the 'simple' configuration (no stemming, no stop words: a support inbox speaks
-- every language, and a stemmer for one mangles the others), lower-cased and accents folded.
CREATE FUNCTION threadline_search_document(content text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN to_tsvector('simple'::regconfig, threadline_unaccent(content));

-- Messages by their words: a stored generated column, and a GIN index over it with the tenant inside (btree_gin),
-- so the tenant's entries are intersected inside the index instead of checked row by row on the heap.
-- Why stored rather than an expression index (measured at 1,000,000 messages, make bench-read): ingest computes
-- the words once either way (for the index entry), but a search must also test and rank candidates, and
-- recomputing to_tsvector(unaccent(content)) costs about 6 µs a row, against 0.25 µs to read the stored
-- column: walking back from the newest message to the 200th match of a common word took 36 ms recomputing and
-- 0.5 ms stored. The price is disk: at the benchmark's short messages the column adds 103 bytes to a 180-byte
-- row, about 1.5 times the table (and the ingest's heap WAL as much more). fastupdate (GIN's default, kept on purpose): an insert appends its entries to the
-- index's pending list instead of updating one posting tree per word, so an ingest of 500 messages does not
-- touch thousands of index pages; the list is merged by autovacuum or at gin_pending_list_limit (4 MB), and a
-- search reads it too.
ALTER TABLE messages
    ADD COLUMN search_document tsvector GENERATED ALWAYS AS (threadline_search_document(content)) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (tenant_id, search_document);

-- Contacts by name (accents folded, lower case), username or phone number (any part of its digits): one
-- trigram index over the three, so "ana", "Ána", "@anab" or "5512" each is one index scan.
CREATE FUNCTION threadline_contact_search_text(name text, identifier text, phone_digits text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN lower(threadline_unaccent(coalesce(name, ''))) || ' ' || lower(identifier) || ' ' || coalesce(phone_digits, '');

CREATE INDEX contacts_search_idx ON contacts
    USING gin (tenant_id, threadline_contact_search_text(name, identifier, phone_digits) gin_trgm_ops);

-- The search's candidates, through narrow doors. Under RLS, PostgreSQL may not evaluate an operator that is not
-- leakproof (@@ on a tsvector, LIKE) before the policy's own check, so none of them can be an index condition
-- for threadline_app: every search would test each of the tenant's rows (measured: 100 ms at 20,000 messages,
-- against 0.1 ms through the index). These functions run as the owner, outside RLS, and read only the
-- transaction's own tenant (app_current_tenant(), the value RLS itself compares with: NULL, so nothing, when
-- unset); they take no tenant argument, so no caller can point them at another tenant.
--
-- The newest matches of the words, found one of two ways, each forced by its function's settings (the planner's
-- estimate for a prefix query is a constant, so left to itself it walks a million rows for a rare word):
-- through the GIN index when there are few matches (each match costs a heap block: 2,000 of them about 10 ms),
-- else by walking back from the newest message and testing the stored words (0.25 µs a row: a word in one
-- message of 500 finds its 200 newest within 100,000 rows).
CREATE FUNCTION search_message_matches(p_words tsquery, p_cap integer) RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    SET enable_indexscan = off
    SET enable_seqscan = off
AS $$
    SELECT m.id FROM messages m
    WHERE m.tenant_id = app_current_tenant() AND NOT m.is_system AND m.search_document @@ p_words
    LIMIT p_cap
$$;

CREATE FUNCTION search_message_newest(p_words tsquery, p_limit integer) RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    SET enable_bitmapscan = off
    SET enable_seqscan = off
AS $$
    SELECT m.id FROM messages m
    WHERE m.tenant_id = app_current_tenant() AND NOT m.is_system AND m.search_document @@ p_words
    ORDER BY m.id DESC
    LIMIT p_limit
$$;

-- The newest p_candidates matches (system messages are not the conversation's words; workspace sessions are not
-- the inbox's), each with its ts_rank_cd.
CREATE FUNCTION search_message_candidates(p_words tsquery, p_candidates integer)
    RETURNS TABLE (id bigint, conversation_id bigint, content text, direction text, is_private boolean,
                   sent_at timestamptz, rank double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    -- Up to this many matches are read through the index; more mean a common word, read newest first.
    few_matches CONSTANT integer := 2000;
    matches bigint[];
    chosen bigint[];
BEGIN
    matches := ARRAY(SELECT f.id FROM search_message_matches(p_words, few_matches) f);
    IF cardinality(matches) < few_matches THEN
        chosen := ARRAY(SELECT u.id FROM unnest(matches) u (id) ORDER BY u.id DESC LIMIT p_candidates);
    ELSE
        chosen := ARRAY(SELECT f.id FROM search_message_newest(p_words, p_candidates) f);
    END IF;
    RETURN QUERY
        SELECT m.id, m.conversation_id, m.content, m.direction, m.is_private, m.sent_at,
               ts_rank_cd(m.search_document, p_words)::double precision
        FROM messages m
        WHERE m.id = ANY(chosen) AND m.tenant_id = app_current_tenant()
          AND NOT EXISTS (SELECT 1 FROM conversations w WHERE w.id = m.conversation_id AND w.platform = 'workspace');
END
$$;

-- Contacts whose name, username or phone contains the text (or, for a phone query, its digits). Not also "a name
-- close to it" (pg_trgm's <% for typos): for a name made of common trigrams that made the index visit most of
-- the tenant's contacts (measured: 25 ms at 5,000 contacts).
CREATE FUNCTION search_contact_candidates(p_text text, p_digits text, p_candidates integer)
    RETURNS TABLE (id uuid, name text, identifier text, rank double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
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
$$;
REVOKE ALL ON FUNCTION search_message_matches(tsquery, integer), search_message_newest(tsquery, integer),
    search_message_candidates(tsquery, integer), search_contact_candidates(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION search_message_candidates(tsquery, integer), search_contact_candidates(text, text, integer)
    TO threadline_app;

-- ---------------------------------------------------------------------------------------------------------------
-- The list's new orders and filters (make bench-read, 100,000 conversations: without these, each case below
-- sorted or filtered thousands of rows per page, p99 25-40 ms; the target is 20 ms).
-- ---------------------------------------------------------------------------------------------------------------
-- What each costs the ingest path: an ingest moves last_message_at of every conversation it touches, and since
-- that column is indexed the update is never HOT, so every index on conversations gets a new entry per touched
-- conversation, whatever its columns. Three more indexes: three more index insertions per conversation an ingest
-- touches (not per message). Only the orders and the filters the benchmark found slow get one.
--
-- sort=waiting_since (oldest waiting first), alone or with a status filter walked along it.
CREATE INDEX conversations_waiting_idx
    ON conversations (tenant_id, waiting_since, id)
    WHERE platform <> 'workspace';
-- sort=priority (urgent first, then newest activity), and priority=<one> in activity order (an equality on
-- priority_rank, the leading key after the tenant).
CREATE INDEX conversations_priority_activity_idx
    ON conversations (tenant_id, priority_rank DESC, last_message_at DESC NULLS LAST, id DESC)
    WHERE platform <> 'workspace';
-- team=<id> in activity order (a team's queue), with a status filter walked along it.
CREATE INDEX conversations_team_activity_idx
    ON conversations (tenant_id, team_id, last_message_at DESC NULLS LAST, id DESC)
    WHERE team_id IS NOT NULL AND platform <> 'workspace';
