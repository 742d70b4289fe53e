DROP TABLE statement_refunds;
ALTER TABLE statement_lines
    DROP CONSTRAINT statement_lines_net,
    DROP COLUMN refunded_fen,
    ADD CONSTRAINT statement_lines_net CHECK (net_fen = items_fen + freight_fen - commission_fen);
DROP TABLE refund_request_parts;
DROP TABLE refund_requests;
ALTER TABLE seller_orders
    DROP CONSTRAINT seller_orders_held_refunds,
    DROP CONSTRAINT seller_orders_freight_refund_cap,
    DROP COLUMN held_commission_returned_fen,
    DROP COLUMN held_refunded_fen,
    DROP COLUMN freight_refunded_fen;
ALTER TABLE order_items
    DROP CONSTRAINT order_items_refund_cap,
    DROP COLUMN refunded_fen;
