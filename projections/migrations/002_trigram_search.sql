-- Trigram indexes make substring search (?q= on the lists, /v1/search)
-- an index lookup instead of a scan. pg_trgm ships with PostgreSQL and is
-- a trusted extension; where it cannot be installed the lists are built
-- without those indexes and search scans.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%); text search will scan the list tables', SQLERRM;
END
$$;
