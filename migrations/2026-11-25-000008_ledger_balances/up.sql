-- Ledger accounts know what they are for and whom they belong to, and keep
-- their balance: every posted line adds to it in the same transaction (a
-- trigger), lines are immutable, so the balance always equals the sum of
-- the account's lines without summing history to read it.
ALTER TABLE ledger_accounts ADD COLUMN type text;
ALTER TABLE ledger_accounts ADD COLUMN owner_id uuid;
ALTER TABLE ledger_accounts ADD COLUMN balance_fen bigint NOT NULL DEFAULT 0;
UPDATE ledger_accounts SET type = 'coop_equity', owner_id = split_part(code, ':', 2)::uuid
 WHERE code LIKE 'coop:%:undistributed_surplus';
UPDATE ledger_accounts SET type = 'member_payable', owner_id = split_part(code, ':', 2)::uuid
 WHERE code LIKE 'member:%:payable';
UPDATE ledger_accounts a SET balance_fen = s.total
  FROM (SELECT account_id, sum(amount_fen) AS total FROM journal_lines GROUP BY account_id) s
 WHERE a.id = s.account_id;
CREATE INDEX ledger_accounts_owner_idx ON ledger_accounts (owner_id) WHERE owner_id IS NOT NULL;
-- an account's lines, newest first, by cursor
DROP INDEX journal_lines_account_idx;
CREATE INDEX journal_lines_account_idx ON journal_lines (account_id, id);

CREATE FUNCTION journal_line_to_balance() RETURNS trigger AS $$
BEGIN
    UPDATE ledger_accounts SET balance_fen = balance_fen + NEW.amount_fen WHERE id = NEW.account_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journal_lines_balance_kept AFTER INSERT ON journal_lines
    FOR EACH ROW EXECUTE FUNCTION journal_line_to_balance();

-- Posts one entry in one call: the accounts (created on first use), the
-- entry and its lines. Lines are locked in account-code order (callers
-- sort), so concurrent entries cannot deadlock on balances. The deferred
-- constraint trigger still refuses an entry whose lines do not sum to zero.
CREATE FUNCTION post_entry(
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
