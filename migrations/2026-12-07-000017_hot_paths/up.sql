-- Cheaper hot paths, same results (measured in docs/performance.md,
-- "Payments: fewer statements and shorter locks").

-- 1. An event is written by a plpgsql function: its INSERT is planned once
-- per session. As a SQL function it was parsed and planned again in every
-- transaction that emitted an event (fmgr_sql keeps no plan across
-- transactions in PostgreSQL 15): ~0.2 ms of server CPU per payment.
CREATE OR REPLACE FUNCTION outbox_emit(p_type text, p_partner uuid, p_public boolean, p_payload jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_public OR p_partner IS NOT NULL OR p_type = ANY (outbox_mailed_types()) THEN
        INSERT INTO outbox_events (type, partner_id, public, payload)
        VALUES (p_type, p_partner, p_public, p_payload);
    END IF;
END $$;

-- 2. Accounts are created on first use only. `INSERT … ON CONFLICT DO
-- NOTHING` on every posting found the (nearly always) existing account and
-- then waited for whichever running posting had updated its balance (a
-- unique check sees the in-progress update and waits for its commit), so a
-- posting queued on a shard's balance row before it had done anything.
CREATE OR REPLACE FUNCTION post_entry(
    p_entry uuid, p_description text, p_source_kind text, p_source_id uuid, p_at timestamptz,
    p_codes text[], p_names text[], p_types text[], p_kinds text[], p_owners uuid[], p_amounts int8[]
) RETURNS void AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_codes) AS c(code)
                WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts acc WHERE acc.code = c.code)) THEN
        INSERT INTO ledger_accounts (id, code, name, kind, type, owner_id)
        SELECT gen_random_uuid(), a.code, a.name, a.kind, a.type, a.owner
          FROM unnest(p_codes, p_names, p_types, p_kinds, p_owners) AS a(code, name, type, kind, owner)
        ON CONFLICT (code) DO NOTHING;
    END IF;
    INSERT INTO journal_entries (id, description, source_kind, source_id, posted_at)
    VALUES (p_entry, p_description, p_source_kind, p_source_id, p_at);
    INSERT INTO journal_lines (id, entry_id, account_id, amount_fen)
    SELECT gen_random_uuid(), p_entry, acc.id, l.amount
      FROM unnest(p_codes, p_amounts) WITH ORDINALITY AS l(code, amount, n)
      JOIN ledger_accounts acc ON acc.code = l.code
     WHERE l.amount <> 0
     ORDER BY l.n;
END;
$$ LANGUAGE plpgsql;

-- 3. The search engine polls changes after (stamp, id): an index on both,
-- so the poll is one range scan. With the stamp alone, listings written in
-- one transaction (an import: one stamp) were all read and sorted again by
-- every poll (23 ms per poll at 10,000 listings, every 100 ms).
CREATE INDEX listings_search_changed_id_idx ON listings (search_changed_at, id);
DROP INDEX listings_search_changed_idx;
