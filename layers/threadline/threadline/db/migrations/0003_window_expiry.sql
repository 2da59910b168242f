-- The scheduled window expiry's state. A window is open exactly while contacts.window_expires_at > now() (0002);
-- the job's part is to notice, exactly once, each window that has closed, so the real-time feed can tell agents
-- "template required" before they type. It marks windows by moving a progress mark past their closing time, not
-- by writing a row per window: on the 2-core development machine writing 1,000,000 contact rows took 7-8 s even as
-- HOT updates on a heap kept at fillfactor 50, and 47 s without that room (`make bench-expiry`), while reading the
-- same closing times from the index below takes about a second.

-- The job's one range read: closing times in order.
CREATE INDEX contacts_window_expires_idx ON contacts (window_expires_at) WHERE window_expires_at IS NOT NULL;

-- How far the job has got: every window that closed at or before `expired_through` has been noticed. One row; the
-- job locks it for each batch, so overlapping runs take turns and never notice (or count) a window twice.
CREATE TABLE window_expiry_progress (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    expired_through timestamptz NOT NULL DEFAULT '-infinity',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO window_expiry_progress DEFAULT VALUES;
REVOKE ALL ON window_expiry_progress FROM PUBLIC;
