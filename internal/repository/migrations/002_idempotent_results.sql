-- An idempotency record keeps the command's result as data (ids, version,
-- position, events); a replay renders the response from it exactly as the
-- first response was rendered. Records stored before keep their rendered
-- status and body and replay those.
ALTER TABLE crm_idempotency
    ADD COLUMN result jsonb,
    ALTER COLUMN status DROP NOT NULL,
    ALTER COLUMN body DROP NOT NULL,
    ADD CONSTRAINT crm_idempotency_result_or_body CHECK (result IS NOT NULL OR (status IS NOT NULL AND body IS NOT NULL));
