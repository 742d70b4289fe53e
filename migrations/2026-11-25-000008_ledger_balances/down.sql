DROP FUNCTION post_entry(uuid, text, text, uuid, timestamptz, text[], text[], text[], text[], uuid[], int8[]);
DROP TRIGGER journal_lines_balance_kept ON journal_lines;
DROP FUNCTION journal_line_to_balance();
DROP INDEX journal_lines_account_idx;
CREATE INDEX journal_lines_account_idx ON journal_lines (account_id);
DROP INDEX ledger_accounts_owner_idx;
ALTER TABLE ledger_accounts DROP COLUMN balance_fen;
ALTER TABLE ledger_accounts DROP COLUMN owner_id;
ALTER TABLE ledger_accounts DROP COLUMN type;
