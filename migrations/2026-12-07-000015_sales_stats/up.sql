-- Sales statistics (监测统计): a daily rollup, so a report over months
-- reads a few thousand rows instead of a million order lines.
--
-- Each closed hour is sealed into the rollup once it has been over for
-- SALES_SEAL_MARGIN_SECS (infra/src/stats.rs: one hour per transaction, in
-- order, once, whatever the number of instances); its facts are added to
-- the rows of its day (China Standard Time: hours align with days). A
-- report reads the rollup rows of its days and the facts after the last
-- sealed hour live. Nothing on the order or payment path writes here: the
-- facts are the order history's rows (a seller order's `paid` and
-- `refunded` events) and confirmed refund requests, which the two partial
-- indexes below make cheap to read by time.

-- Sealed hours (their start): every hour up to the greatest one here is in
-- the rollup.
CREATE TABLE sales_hours (
    hour      timestamptz PRIMARY KEY CHECK (date_trunc('hour', hour) = hour),
    sealed_at timestamptz NOT NULL
);

-- Per seller and day (the sealed hours of it): seller orders paid (items only: gross,
-- units) and item refunds confirmed that day.
CREATE TABLE sales_daily_sellers (
    day          date NOT NULL,
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
    day          date NOT NULL,
    seller_id    uuid NOT NULL REFERENCES organizations (id),
    category_id  uuid NOT NULL REFERENCES categories (id),
    gross_fen    bigint NOT NULL,
    orders       integer NOT NULL,
    units        bigint NOT NULL,
    refunds_fen  bigint NOT NULL,
    PRIMARY KEY (day, seller_id, category_id)
);

-- The same by category over every seller: what a platform-wide category
-- report reads (a few rows a day instead of one per seller and category).
CREATE TABLE sales_daily_category_totals (
    day          date NOT NULL,
    category_id  uuid NOT NULL REFERENCES categories (id),
    gross_fen    bigint NOT NULL,
    orders       integer NOT NULL,
    units        bigint NOT NULL,
    refunds_fen  bigint NOT NULL,
    PRIMARY KEY (day, category_id)
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
