-- After-sales refunds (售后): requests, their parts per line, what each line
-- and seller order has had refunded, and refunds on statements.

-- Paid back so far (confirmed by the provider). The caps are checked by the
-- domain under the seller order's lock; these checks hold them again.
ALTER TABLE order_items
    ADD COLUMN refunded_fen bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT order_items_refund_cap CHECK (refunded_fen BETWEEN 0 AND line_total_fen);

ALTER TABLE seller_orders
    ADD COLUMN freight_refunded_fen bigint NOT NULL DEFAULT 0,
    -- refunds paid before completion, and the commission they gave back:
    -- completion credits the seller with the rest
    ADD COLUMN held_refunded_fen bigint NOT NULL DEFAULT 0,
    ADD COLUMN held_commission_returned_fen bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT seller_orders_freight_refund_cap
        CHECK (freight_refunded_fen BETWEEN 0 AND freight_fen),
    ADD CONSTRAINT seller_orders_held_refunds
        CHECK (held_refunded_fen BETWEEN 0 AND subtotal_fen + freight_fen
               AND held_commission_returned_fen BETWEEN 0 AND commission_fen);

CREATE TABLE refund_requests (
    id                      uuid PRIMARY KEY,
    seller_order_id         uuid NOT NULL REFERENCES seller_orders (id),
    order_id                uuid NOT NULL REFERENCES orders (id),
    seller_id               uuid NOT NULL REFERENCES organizations (id),
    origin                  text NOT NULL CHECK (origin IN ('buyer', 'seller')),
    order_item_id           uuid REFERENCES order_items (id),
    quantity                integer CHECK (quantity > 0),
    amount_fen              bigint NOT NULL CHECK (amount_fen > 0),
    reason                  text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 200),
    photo_urls              jsonb NOT NULL DEFAULT '[]',
    status                  text NOT NULL CHECK (status IN
                                ('requested', 'approved', 'refunded', 'rejected', 'escalated', 'closed')),
    note                    text,
    commission_returned_fen bigint CHECK (commission_returned_fen >= 0),
    after_completion        boolean,
    refunded_at             timestamptz,
    created_by              text NOT NULL,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    CONSTRAINT refund_requests_refunded CHECK (
        (status = 'refunded') = (refunded_at IS NOT NULL)
        AND (refunded_at IS NULL) = (commission_returned_fen IS NULL)
        AND (refunded_at IS NULL) = (after_completion IS NULL))
);
CREATE INDEX refund_requests_seller_order_idx ON refund_requests (seller_order_id);
CREATE INDEX refund_requests_seller_idx ON refund_requests (seller_id, id);
-- what a settlement run looks for
CREATE INDEX refund_requests_unsettled_idx ON refund_requests (refunded_at)
    WHERE status = 'refunded' AND after_completion;

-- how a request's amount is spread over the lines (NULL: the freight)
CREATE TABLE refund_request_parts (
    refund_request_id       uuid NOT NULL REFERENCES refund_requests (id),
    position                integer NOT NULL,
    order_item_id           uuid REFERENCES order_items (id),
    amount_fen              bigint NOT NULL CHECK (amount_fen > 0),
    commission_returned_fen bigint CHECK (commission_returned_fen >= 0),
    PRIMARY KEY (refund_request_id, position)
);

-- seller-order lines of statements show refunds paid before completion
ALTER TABLE statement_lines
    ADD COLUMN refunded_fen bigint NOT NULL DEFAULT 0,
    DROP CONSTRAINT statement_lines_net,
    ADD CONSTRAINT statement_lines_net
        CHECK (net_fen = items_fen + freight_fen - commission_fen - refunded_fen);

-- refunds paid after completion, each on one statement, ever
CREATE TABLE statement_refunds (
    statement_id            uuid NOT NULL REFERENCES statements (id),
    refund_request_id       uuid NOT NULL UNIQUE REFERENCES refund_requests (id),
    seller_order_id         uuid NOT NULL REFERENCES seller_orders (id),
    refunded_at             timestamptz NOT NULL,
    amount_fen              bigint NOT NULL,
    commission_returned_fen bigint NOT NULL,
    net_fen                 bigint NOT NULL,
    PRIMARY KEY (statement_id, refund_request_id),
    CONSTRAINT statement_refunds_net CHECK (net_fen = commission_returned_fen - amount_fen)
);
