CREATE INDEX listings_search_changed_idx ON listings (search_changed_at);
DROP INDEX listings_search_changed_id_idx;

CREATE OR REPLACE FUNCTION post_entry(
    p_entry uuid, p_description text, p_source_kind text, p_source_id uuid, p_at timestamptz,
    p_codes text[], p_names text[], p_types text[], p_kinds text[], p_owners uuid[], p_amounts int8[]
) RETURNS void AS $$
BEGIN
    INSERT INTO ledger_accounts (id, code, name, kind, type, owner_id)
    SELECT gen_random_uuid(), a.code, a.name, a.kind, a.type, a.owner
      FROM unnest(p_codes, p_names, p_types, p_kinds, p_owners) AS a(code, name, type, kind, owner)
    ON CONFLICT (code) DO NOTHING;
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

CREATE OR REPLACE FUNCTION outbox_emit(p_type text, p_partner uuid, p_public boolean, p_payload jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO outbox_events (type, partner_id, public, payload)
    SELECT p_type, p_partner, p_public, p_payload
    WHERE p_public OR p_partner IS NOT NULL OR p_type = ANY (outbox_mailed_types());
$$;
