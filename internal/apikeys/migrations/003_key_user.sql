-- A key may be bound to a user of the directory: requests with it then act
-- as that user. Empty for keys of no one person (services, the bootstrap
-- admin key).
ALTER TABLE crm_api_keys ADD COLUMN user_id text NOT NULL DEFAULT '';
