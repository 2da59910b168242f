-- The team inbox's reads at 100,000 conversations and 1,000,000 messages (make bench-read, issue 10 section 7).

-- assignee=<agent> in activity order, with a status filter as an equality. 0011's (tenant_id, assignee_id) found
-- an agent's rows but not in list order, so a list with assignee=me and status=open walked the tenant's open
-- conversations newest first and filtered them by assignee (at 50 agents: 28,572 rows read for a page, 20 ms,
-- and the whole tenant, 42 ms, with sort=priority, when the agent had none open). With status after the agent,
-- assignee + status is one index range in activity order; assignee alone is the agent's entries (about 1,400 at
-- 50 agents) sorted; sort=priority sorts the range's entries by the included priority_rank, and the included
-- platform lets all of them be index-only reads.
-- It replaces two indexes: 0011's (tenant_id, assignee_id) and 0012's load index (tenant_id, assignee_id) over
-- open and pending, whose counts (assignment.py) are now the range of two statuses of this one. One index on
-- conversations fewer for the ingest path, which adds an entry to every one of them per conversation it moves.
DROP INDEX conversations_assignee_idx;
DROP INDEX conversations_assignee_load_idx;
CREATE INDEX conversations_assignee_status_activity_idx
    ON conversations (tenant_id, assignee_id, status, last_message_at DESC NULLS LAST, id DESC)
    INCLUDE (platform, priority_rank)
    WHERE assignee_id IS NOT NULL;

-- Common words first by the bounded walk. search_message_candidates (0014) asked the GIN index for up to 2,000
-- matches before choosing the newest-first walk, but a bitmap scan builds its whole bitmap before any LIMIT: for
-- a word in one message of ten (100,000 matches) that alone took most of 30 ms. Now it first walks back over the
-- newest RECENT_ROWS messages: a word in one message of twenty finds its candidates there (about 1 ms), and the
-- same candidates as before (the newest matches). A rarer word pays that walk, then takes 0014's path.
CREATE FUNCTION search_message_recent(p_words tsquery, p_limit integer, p_rows integer) RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    SET enable_bitmapscan = off
    SET enable_seqscan = off
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
REVOKE ALL ON FUNCTION search_message_recent(tsquery, integer, integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION search_message_candidates(p_words tsquery, p_candidates integer)
    RETURNS TABLE (id bigint, conversation_id bigint, content text, direction text, is_private boolean,
                   sent_at timestamptz, rank double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
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

-- team=<id> with a status filter: 0014's team index, with the status included, so the page's walk and the capped
-- count test the status in the index instead of reading each of the team's rows (10,000 heap rows for the count
-- of a team's open conversations at 100,000: 9-12 ms). Same keys, same number of indexes.
DROP INDEX conversations_team_activity_idx;
CREATE INDEX conversations_team_activity_idx
    ON conversations (tenant_id, team_id, last_message_at DESC NULLS LAST, id DESC)
    INCLUDE (status)
    WHERE team_id IS NOT NULL AND platform <> 'workspace';
