-- A group buy's outcome, decided once at its deadline: succeeded (the paid
-- quantity reached the target) or failed (its paid seller orders are
-- refunded and its unpaid orders cancelled; resolved_at is set once that is
-- done, so a sweep interrupted half way is finished by the next one).
CREATE TABLE group_buy_outcomes (
    listing_id  uuid PRIMARY KEY REFERENCES listings (id),
    outcome     text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    target_qty  integer NOT NULL,
    paid_qty    bigint NOT NULL,
    decided_at  timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE INDEX group_buy_outcomes_unresolved_idx ON group_buy_outcomes (decided_at) WHERE resolved_at IS NULL;
-- the sweep looks only at group buys (few of all listings)
CREATE INDEX listings_group_buys_idx ON listings (id) WHERE sale_mode = 'group_buy';
