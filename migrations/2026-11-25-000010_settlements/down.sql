DROP INDEX seller_orders_unsettled_idx;
DROP TABLE statement_lines;
DROP TABLE statements;
DROP TABLE settlements;
ALTER TABLE seller_orders DROP COLUMN completed_at;
