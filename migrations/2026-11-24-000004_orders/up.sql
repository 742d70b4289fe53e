-- Orders, seller orders, items, events, payments and idempotency keys.

CREATE TABLE idempotency_keys (
    scope          text NOT NULL,
    key            text NOT NULL,
    request_hash   text NOT NULL,
    status         text NOT NULL CHECK (status IN ('in_flight', 'completed')),
    response_status integer,
    response_body  jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    number           text NOT NULL UNIQUE,
    buyer_user_id    uuid REFERENCES users (id),
    buyer_partner_id uuid REFERENCES partners (id),
    external_ref     text,
    status           text NOT NULL CHECK (status IN ('pending_payment', 'paid', 'completed', 'cancelled', 'expired')),
    total_fen        bigint NOT NULL CHECK (total_fen > 0),
    delivery         jsonb NOT NULL,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_one_buyer CHECK ((buyer_user_id IS NULL) <> (buyer_partner_id IS NULL))
);
SELECT diesel_manage_updated_at('orders');
-- Partial indexes: each order is indexed only under its kind of buyer.
CREATE INDEX orders_buyer_user_idx ON orders (buyer_user_id, id DESC) WHERE buyer_user_id IS NOT NULL;
CREATE INDEX orders_buyer_partner_idx ON orders (buyer_partner_id, id DESC) WHERE buyer_partner_id IS NOT NULL;
-- A mall's own order number is unique per partner.
CREATE UNIQUE INDEX orders_partner_ref ON orders (buyer_partner_id, external_ref) WHERE buyer_partner_id IS NOT NULL;
CREATE INDEX orders_due_idx ON orders (expires_at) WHERE status = 'pending_payment';

CREATE TABLE seller_orders (
    id             uuid PRIMARY KEY,
    order_id       uuid NOT NULL REFERENCES orders (id),
    seller_id      uuid NOT NULL REFERENCES organizations (id),
    status         text NOT NULL CHECK (status IN ('pending_payment', 'paid', 'accepted', 'shipped', 'delivered',
                                                   'completed', 'rejected', 'refunded', 'cancelled')),
    subtotal_fen   bigint NOT NULL CHECK (subtotal_fen > 0),
    commission_fen bigint NOT NULL CHECK (commission_fen >= 0),
    carrier        text,
    tracking_no    text,
    pickup_code    text,
    delivered_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('seller_orders');
CREATE INDEX seller_orders_order_idx ON seller_orders (order_id);
CREATE INDEX seller_orders_seller_idx ON seller_orders (seller_id, status, id DESC);
CREATE INDEX seller_orders_delivered_idx ON seller_orders (delivered_at) WHERE status = 'delivered';

-- Price, commission rate and title are snapshotted at order time.
CREATE TABLE order_items (
    id                 uuid PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES orders (id),
    seller_order_id    uuid NOT NULL REFERENCES seller_orders (id),
    listing_id         uuid NOT NULL REFERENCES listings (id),
    title              text NOT NULL,
    unit_label         text NOT NULL,
    quantity           integer NOT NULL CHECK (quantity > 0),
    unit_price_fen     bigint NOT NULL CHECK (unit_price_fen > 0),
    line_total_fen     bigint NOT NULL CHECK (line_total_fen > 0),
    commission_bp      integer NOT NULL CHECK (commission_bp BETWEEN 0 AND 10000),
    supplier_member_id uuid REFERENCES members (id),
    ship_from_date     date,
    -- added to listings.sold_qty by the background sweep yet?
    counted            boolean NOT NULL DEFAULT false,
    CONSTRAINT order_items_total CHECK (line_total_fen = unit_price_fen * quantity)
);
CREATE INDEX order_items_uncounted_idx ON order_items (id) WHERE NOT counted;
CREATE INDEX order_items_order_idx ON order_items (order_id);
CREATE INDEX order_items_seller_order_idx ON order_items (seller_order_id);

-- Every transition with actor and time, append-only.
CREATE TABLE order_events (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id),
    seller_order_id uuid REFERENCES seller_orders (id),
    from_status     text,
    to_status       text NOT NULL,
    actor           text NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

CREATE TABLE payments (
    id         uuid PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders (id),
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    provider   text NOT NULL,
    status     text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('payments');
CREATE INDEX payments_order_idx ON payments (order_id);
