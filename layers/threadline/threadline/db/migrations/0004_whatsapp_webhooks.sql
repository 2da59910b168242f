-- Meta's status webhooks: finding the outbound message a status is about.
--
-- A status names the message by its wamid (messages.meta_id). When the send path's own update failed after Meta
-- accepted a message, the row is still `pending` without a wamid; the status then finds it by the id the send
-- path passed to Meta as biz_opaque_callback_data, which is the row's external_id. This index serves that second
-- lookup. Its predicate keeps it tiny and keeps it off the ingest hot path: ingested rows are never `pending`.
CREATE INDEX messages_pending_external_idx ON messages (tenant_id, external_id)
    WHERE meta_id IS NULL AND status = 'pending';
