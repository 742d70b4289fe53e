-- Settlement runs and seller statements.
ALTER TABLE seller_orders ADD COLUMN completed_at timestamptz;
UPDATE seller_orders SET completed_at = updated_at WHERE status = 'completed';

CREATE TABLE settlements (
    id              uuid PRIMARY KEY,
    period_end      date NOT NULL,
    hold_days       integer NOT NULL CHECK (hold_days BETWEEN 0 AND 90),
    cutoff          date NOT NULL,
    statement_count integer NOT NULL,
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL
);

CREATE TABLE statements (
    id               uuid PRIMARY KEY,
    settlement_id    uuid NOT NULL REFERENCES settlements (id),
    seller_id        uuid NOT NULL REFERENCES organizations (id),
    gross_fen        bigint NOT NULL,
    commission_fen   bigint NOT NULL,
    refunds_fen      bigint NOT NULL,
    carried_over_fen bigint NOT NULL CHECK (carried_over_fen <= 0),
    net_payable_fen  bigint NOT NULL,
    status           text NOT NULL CHECK (status IN ('issued', 'paid')),
    bank_reference   text,
    paid_at          timestamptz,
    created_at       timestamptz NOT NULL,
    CONSTRAINT statements_net CHECK (net_payable_fen = gross_fen - commission_fen - refunds_fen + carried_over_fen),
    CONSTRAINT statements_paid CHECK ((status = 'paid') = (bank_reference IS NOT NULL AND paid_at IS NOT NULL))
);
CREATE INDEX statements_settlement_idx ON statements (settlement_id, id);
CREATE INDEX statements_seller_idx ON statements (seller_id, id);

CREATE TABLE statement_lines (
    statement_id    uuid NOT NULL REFERENCES statements (id),
    seller_order_id uuid NOT NULL REFERENCES seller_orders (id),
    completed_at    timestamptz NOT NULL,
    items_fen       bigint NOT NULL,
    freight_fen     bigint NOT NULL,
    commission_fen  bigint NOT NULL,
    net_fen         bigint NOT NULL,
    PRIMARY KEY (statement_id, seller_order_id),
    -- a seller order is settled once, ever
    UNIQUE (seller_order_id),
    CONSTRAINT statement_lines_net CHECK (net_fen = items_fen + freight_fen - commission_fen)
);

-- what a run looks for: completed, not settled yet, by completion time
CREATE INDEX seller_orders_unsettled_idx ON seller_orders (completed_at)
    WHERE status = 'completed';
