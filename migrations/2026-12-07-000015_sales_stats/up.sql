-- Sales statistics (监测统计): a daily rollup of closed days, so a report
-- over months reads a few thousand rows instead of a million order lines.
--
-- A day (China Standard Time) is sealed once it has been over for
-- SALES_SEAL_MARGIN (infra/src/stats.rs seals it in one transaction, once,
-- whatever the number of instances); a report reads sealed days from the
-- rollup and the days after them live from the order history. Nothing on
-- the order or payment path writes here: the facts are the order history's
-- rows (a seller order's `paid` and `refunded` events) and confirmed refund
-- requests, which the two partial indexes below make cheap to read by time.

-- Sealed days: every day up to the greatest one here is in the rollup.
CREATE TABLE sales_days (
    day       date PRIMARY KEY,
    sealed_at timestamptz NOT NULL
);

-- Per seller and day: seller orders paid that day (items only: gross,
-- units) and item refunds confirmed that day.
CREATE TABLE sales_daily_sellers (
    day          date NOT NULL REFERENCES sales_days (day),
    seller_id    uuid NOT NULL REFERENCES organizations (id),
    gross_fen    bigint NOT NULL,
    orders       integer NOT NULL,
    units        bigint NOT NULL,
    refunds_fen  bigint NOT NULL,
    PRIMARY KEY (day, seller_id)
);

-- The same by the listing's category: `orders` counts the seller orders
-- with a line in the category (a seller order with two categories counts in
-- each).
CREATE TABLE sales_daily_categories (
    day          date NOT NULL REFERENCES sales_days (day),
    seller_id    uuid NOT NULL REFERENCES organizations (id),
    category_id  uuid NOT NULL REFERENCES categories (id),
    gross_fen    bigint NOT NULL,
    orders       integer NOT NULL,
    units        bigint NOT NULL,
    refunds_fen  bigint NOT NULL,
    PRIMARY KEY (day, seller_id, category_id)
);

-- The facts, by time: seller orders paid or refunded in full, and confirmed
-- refund requests (also what the unsalable alerts read for the last 14 days).
CREATE INDEX order_events_seller_sales_idx ON order_events (occurred_at)
    INCLUDE (seller_order_id)
    WHERE seller_order_id IS NOT NULL AND to_status IN ('paid', 'refunded');
CREATE INDEX refund_requests_refunded_idx ON refund_requests (refunded_at)
    WHERE status = 'refunded';
-- unsalable alerts: active listings by origin region
CREATE INDEX listings_active_origin_idx ON listings (origin_region_code)
    WHERE status = 'active';
