-- The team inbox: who owns each conversation (agents, teams, assignment), what is done (lifecycle, snoozes,
-- priority), what is unread for whom (per-agent read horizons), labels and private notes. This migration lays
-- down the shared schema; the rules that use it live in the layer's domain modules, and later migrations add
-- what each part needs beyond it (counters, search indexes).
--
-- Every new tenant table gets its isolation from threadline_enable_tenant_isolation (0010).

-- ---------------------------------------------------------------------------------------------------------------
-- Agents and teams
-- ---------------------------------------------------------------------------------------------------------------
ALTER TABLE users
    -- Whether the agent takes new conversations now: auto-assignment only hands work to `online` agents.
    ADD COLUMN availability     text NOT NULL DEFAULT 'offline' CHECK (availability IN ('online', 'busy', 'offline')),
    -- When the agent was last given a conversation: auto-assignment's tie-break (longest since first).
    ADD COLUMN last_assigned_at timestamptz,
    -- Target of the composite keys below: a conversation can only be assigned to an agent of its own tenant.
    ADD CONSTRAINT users_tenant_id_id_key UNIQUE (tenant_id, id);

-- Tenant-wide settings (changed by the admin CLI; the functions' role only reads tenants).
ALTER TABLE tenants
    ADD COLUMN auto_assign        boolean NOT NULL DEFAULT false,
    -- At most this many open conversations per agent from auto-assignment; NULL = no cap.
    ADD COLUMN max_open_per_agent integer CHECK (max_open_per_agent > 0),
    -- When Threadline marks a customer's WhatsApp messages read at Meta (the blue ticks).
    ADD COLUMN read_receipts      text NOT NULL DEFAULT 'never' CHECK (read_receipts IN ('never', 'on_read', 'on_reply'));

CREATE TABLE teams (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- A team's own auto-assignment settings, for conversations routed to the team; NULL = the tenant's.
    auto_assign        boolean,
    max_open_per_agent integer CHECK (max_open_per_agent > 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);
SELECT threadline_enable_tenant_isolation('teams');

CREATE TABLE team_members (
    tenant_id  uuid NOT NULL,
    team_id    uuid NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_user_idx ON team_members (tenant_id, user_id);
SELECT threadline_enable_tenant_isolation('team_members');

-- ---------------------------------------------------------------------------------------------------------------
-- Conversations: lifecycle and ownership
-- ---------------------------------------------------------------------------------------------------------------
-- `closed` goes away (nothing is deployed with it): what it meant is `resolved`.
UPDATE conversations SET status = 'resolved' WHERE status = 'closed';
ALTER TABLE conversations DROP CONSTRAINT conversations_status_check;
ALTER TABLE conversations
    ADD CONSTRAINT conversations_status_check CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
    -- Until when a snoozed conversation sleeps; NULL while snoozed = until the customer writes again.
    ADD COLUMN snoozed_until timestamptz,
    ADD CONSTRAINT conversations_snooze_needs_snoozed CHECK (snoozed_until IS NULL OR status = 'snoozed'),
    ADD COLUMN assignee_id   uuid,
    ADD COLUMN team_id       uuid,
    ADD COLUMN priority      text CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    -- The priority sort's key: urgent first, no priority last.
    ADD COLUMN priority_rank smallint NOT NULL GENERATED ALWAYS AS (
        CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END
    ) STORED,
    -- When the oldest inbound message that no agent has answered arrived; NULL once answered (kept by the
    -- messages trigger below, like unread_count).
    ADD COLUMN waiting_since timestamptz,
    -- The ETag's version: moved by every change an agent can make (status, snooze, assignee, team, priority,
    -- labels), not by new messages, so If-Match guards what two agents could overwrite.
    ADD COLUMN version       bigint NOT NULL DEFAULT 1,
    ADD CONSTRAINT conversations_assignee_fkey FOREIGN KEY (tenant_id, assignee_id)
        REFERENCES users (tenant_id, id) ON DELETE SET NULL (assignee_id),
    ADD CONSTRAINT conversations_team_fkey FOREIGN KEY (tenant_id, team_id)
        REFERENCES teams (tenant_id, id) ON DELETE SET NULL (team_id);

CREATE FUNCTION conversations_bump_version() RETURNS trigger
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
CREATE TRIGGER conversations_bump_version
    BEFORE UPDATE OF status, snoozed_until, assignee_id, team_id, priority ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_bump_version();

-- The scheduled function wakes snoozes that are due: a small partial index, only snoozed rows with a time.
CREATE INDEX conversations_snooze_due_idx ON conversations (snoozed_until) WHERE snoozed_until IS NOT NULL;
-- Assignment: an agent's open conversations, and the unassigned queue handed out oldest-waiting-first.
CREATE INDEX conversations_assignee_idx ON conversations (tenant_id, assignee_id) WHERE assignee_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------------------------------
-- Labels
-- ---------------------------------------------------------------------------------------------------------------
CREATE TABLE labels (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- As first written; matched case-insensitively.
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX labels_name_key ON labels (tenant_id, lower(name));
SELECT threadline_enable_tenant_isolation('labels');

CREATE TABLE conversation_labels (
    tenant_id       uuid NOT NULL,
    conversation_id bigint NOT NULL,
    label_id        uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, label_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, label_id) REFERENCES labels (tenant_id, id) ON DELETE CASCADE
);
-- A label's conversations (the label filter).
CREATE INDEX conversation_labels_label_idx ON conversation_labels (tenant_id, label_id, conversation_id);
SELECT threadline_enable_tenant_isolation('conversation_labels');

-- ---------------------------------------------------------------------------------------------------------------
-- Notes and read state
-- ---------------------------------------------------------------------------------------------------------------
-- A private note is a message agents write for each other: shown in both message views to agents, never sent
-- to any channel, never a reply to the customer.
ALTER TABLE messages ADD COLUMN is_private boolean NOT NULL DEFAULT false;

-- Each agent's own read horizon in a conversation: everything up to this message is read for that agent. It
-- only moves forward.
CREATE TABLE conversation_reads (
    tenant_id            uuid NOT NULL,
    conversation_id      bigint NOT NULL,
    user_id              uuid NOT NULL,
    last_read_message_id bigint NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, user_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
SELECT threadline_enable_tenant_isolation('conversation_reads');

-- ---------------------------------------------------------------------------------------------------------------
-- The counters: a note or an activity message is not a reply, and waiting_since follows what is unanswered
-- ---------------------------------------------------------------------------------------------------------------
-- As 0005's, with two changes: a reply is an outbound message that is neither a system (activity) message nor a
-- private note; and waiting_since is the oldest inbound message newer than the last reply, NULL once answered.
CREATE OR REPLACE FUNCTION messages_count_into_conversations() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE conversations c
    SET message_count = c.message_count + added.messages,
        agent_last_read_at = GREATEST(c.agent_last_read_at, added.replied_at),
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
               max(sent_at) FILTER (WHERE direction = 'outbound' AND NOT is_system AND NOT is_private) AS replied_at
        FROM inserted_messages
        GROUP BY conversation_id
    ) added
    WHERE c.id = added.conversation_id;
    RETURN NULL;
END
$$;

-- waiting_since of the conversations that already exist.
UPDATE conversations c
SET waiting_since = (
    SELECT min(m.sent_at) FROM messages m
    WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id
      AND m.sent_at > COALESCE(c.agent_last_read_at, '-infinity')
      AND m.direction = 'inbound' AND NOT m.is_system)
WHERE c.unread_count > 0;

GRANT SELECT, INSERT, UPDATE, DELETE ON teams, team_members, labels, conversation_labels, conversation_reads
    TO threadline_app;
