-- Bulk updates of conversations and messages in linear time, whatever the session ran before.
--
-- Three statement-level triggers pair each updated row's old and new version by joining the UPDATE's two transition
-- tables on id: 0015's conversations_append_changed_events and messages_append_changed_events, and 0020's
-- conversations_append_window_events (its UPDATE branch). PL/pgSQL prepares each statement once per session and
-- keeps its plan; one planned for a one-row UPDATE is a nested loop over the two transition tables, which have no
-- index, and reused for a bulk UPDATE it rescans the whole old table for every new row. In one session, after seven
-- 1-row UPDATEs of conversations: 4,000 rows 3.5 s, 8,000 rows 10.9 s, 16,000 rows 50.6 s (a fresh session:
-- 0.2 / 0.4 / 1.0 s).
--
-- What was measured before choosing (same machine, same runs):
-- - plan_cache_mode = force_custom_plan on the functions changes nothing (4,000 rows 2.8 s, 8,000 rows 10.9 s): the
--   window events' join has no parameter, and a statement without one never gets a custom plan.
-- - EXECUTE (planned at every run) is linear (0.19 / 0.39 / 0.76 s) but plans the join at every UPDATE: 3,000
--   one-row UPDATEs of conversations took 2.0-2.3 s in a DO block instead of 0.8-0.9 s, and every message stored
--   updates its conversation.
-- - Without nested loops in these functions the cached plan is a hash join (or a merge join) at any size: linear
--   (0.35 / 0.42 / 0.71 s) and 0.9-1.2 s for the 3,000 one-row UPDATEs.
-- So these three functions run without nested loops, as 0021's search_message_recent runs without bitmap scans. The
-- setting covers what they call (append_events, whose CTEs join per tenant, and the events table's webhook fan-out
-- trigger, whose join with the tenant's subscriptions becomes a hash join): none of it needs a nested loop. The
-- other transition-table triggers join no second transition table: they aggregate one, or reach other tables'
-- rows through an index, which stays linear with any cached plan.
ALTER FUNCTION conversations_append_changed_events() SET enable_nestloop = off;
ALTER FUNCTION conversations_append_window_events() SET enable_nestloop = off;
ALTER FUNCTION messages_append_changed_events() SET enable_nestloop = off;
