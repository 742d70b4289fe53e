-- An order is now one transaction: the Idempotency-Key is completed in the
-- same call that writes the order (no separate in-flight claim row), and
-- "still running" is an advisory lock held by that transaction. The
-- listing snapshots are read by a plain query beforehand.
DROP FUNCTION begin_order(text, text, text, timestamptz, timestamptz, uuid[]);
DROP FUNCTION place_order(uuid[], int4[], uuid, text, uuid, uuid, text, bigint, jsonb, timestamptz, timestamptz, uuid, text,
    uuid[], uuid[], int8[], int8[], text[], uuid[], uuid[], uuid[], text[], text[], int4[], int8[], int8[], int4[], uuid[], date[],
    int4, jsonb, text, text);

-- Keys are purged once expired (by the background sweep). Rows arrive in
-- time order, so a BRIN index finds them for almost no upkeep per order.
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys USING brin (expires_at);

-- Units ordered and not yet added to listings.sold_qty: appended by
-- place_order, drained by count_sales. No index on purpose: it is only
-- ever appended to and drained by ctid. (Replaces order_items.counted,
-- whose partial index cost every order an index insert and every count a
-- non-HOT update of each item.)
CREATE TABLE uncounted_sales (
    listing_id uuid NOT NULL,
    quantity   integer NOT NULL CHECK (quantity > 0)
);
INSERT INTO uncounted_sales (listing_id, quantity)
SELECT listing_id, quantity FROM order_items WHERE NOT counted;
DROP INDEX order_items_uncounted_idx;
ALTER TABLE order_items DROP COLUMN counted;

-- Adds a batch of uncounted sales to listings.sold_qty (a demand signal
-- for hot lists) and returns the listings it changed. Safe to run on
-- several instances at once: batches are claimed with SKIP LOCKED and the
-- listings are locked in id order, as place_order locks them.
DROP FUNCTION count_sales(int);
CREATE FUNCTION count_sales(p_limit int) RETURNS SETOF uuid AS $$
DECLARE
    v_ids uuid[];
    v_qty int8[];
BEGIN
    WITH batch AS (
        DELETE FROM uncounted_sales
         WHERE ctid = ANY (ARRAY(SELECT ctid FROM uncounted_sales LIMIT p_limit FOR UPDATE SKIP LOCKED))
        RETURNING listing_id, quantity
    ), per_listing AS (
        SELECT listing_id, sum(quantity) AS q FROM batch GROUP BY listing_id
    )
    SELECT array_agg(listing_id ORDER BY listing_id), array_agg(q ORDER BY listing_id)
      INTO v_ids, v_qty
      FROM per_listing;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM listings WHERE id = ANY (v_ids) ORDER BY id FOR UPDATE;
    RETURN QUERY
        UPDATE listings l SET sold_qty = l.sold_qty + n.q
          FROM unnest(v_ids, v_qty) AS n(id, q)
         WHERE l.id = n.id
        RETURNING l.id;
END;
$$ LANGUAGE plpgsql;

-- What pricing needs of the listings of an order, as one prepared call
-- with a generic plan (`id = ANY ($1)` is otherwise re-planned every time).
CREATE FUNCTION order_snapshots(p_ids uuid[])
RETURNS TABLE (id uuid, seller_id uuid, kind text, title text, unit_label text, price_fen bigint,
               tier_prices jsonb, min_order_qty int, status text, stock int, sale_mode text, sale_terms jsonb,
               supplier_member_id uuid)
STABLE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT l.id, l.seller_id, o.kind, l.title, l.unit_label, l.price_fen, l.tier_prices, l.min_order_qty,
               l.status, l.stock, l.sale_mode, l.sale_terms, l.supplier_member_id
          FROM listings l
          JOIN organizations o ON o.id = l.seller_id
         WHERE l.id = ANY (p_ids);
END;
$$ LANGUAGE plpgsql;

-- Returns NULL when the order was written; otherwise, having written
-- nothing, {"outcome": "in_flight"} (another transaction holds the key),
-- {"outcome": "replay", "status", "body"} (the key was completed before by
-- the same request; body as JSON text) or {"outcome": "mismatch"} (by another request).
-- A listing that is not active gets stock -1, so CHECK (stock >= 0) aborts
-- the call and nothing is written -- exactly as for too little stock.
-- Only unindexed listing columns change (stock, version; status at zero),
-- so the update is HOT; sold_qty is counted later by count_sales().
CREATE FUNCTION place_order(
    p_need_ids uuid[], p_need_qty int4[],
    p_id uuid, p_number text, p_buyer_user uuid, p_buyer_partner uuid, p_external_ref text,
    p_total bigint, p_delivery jsonb, p_expires_at timestamptz, p_created_at timestamptz,
    p_event_id uuid, p_actor text,
    p_so_ids uuid[], p_so_sellers uuid[], p_so_subtotals int8[], p_so_commissions int8[], p_so_codes text[],
    p_it_ids uuid[], p_it_sos uuid[], p_it_listings uuid[], p_it_titles text[], p_it_units text[], p_it_qty int4[],
    p_it_prices int8[], p_it_totals int8[], p_it_bps int4[], p_it_members uuid[], p_it_ships date[],
    p_idem_scope text, p_idem_key text, p_idem_hash text, p_idem_expires timestamptz,
    p_idem_status int4, p_idem_body jsonb
) RETURNS jsonb
-- The planner's generic plans are right for every call; without this it
-- re-plans the UPDATE ... FROM unnest(...) on each one (custom plans).
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF p_idem_key IS NOT NULL THEN
        -- held until commit: a second request with the key is "in flight"
        IF NOT pg_try_advisory_xact_lock(hashtextextended(p_idem_scope || E'\x1f' || p_idem_key, 6)) THEN
            RETURN '{"outcome": "in_flight"}';
        END IF;
        -- a live completed key wins; an expired one (or a pre-migration
        -- in-flight claim, whose request is gone) is taken over
        INSERT INTO idempotency_keys AS k (scope, key, request_hash, status, response_status, response_body, created_at, expires_at)
        VALUES (p_idem_scope, p_idem_key, p_idem_hash, 'completed', p_idem_status, p_idem_body, p_created_at, p_idem_expires)
        ON CONFLICT (scope, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, status = 'completed', response_status = EXCLUDED.response_status,
               response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE k.expires_at <= p_created_at OR k.status = 'in_flight';
        IF NOT FOUND THEN
            RETURN (SELECT CASE WHEN k.request_hash = p_idem_hash
                                THEN jsonb_build_object('outcome', 'replay', 'status', k.response_status, 'body', k.response_body::text)
                                ELSE '{"outcome": "mismatch"}' END
                      FROM idempotency_keys k
                     WHERE k.scope = p_idem_scope AND k.key = p_idem_key);
        END IF;
    END IF;

    -- rows are locked in the order given (callers sort by id)
    UPDATE listings l
       SET stock = CASE WHEN l.status = 'active' THEN l.stock - n.qty ELSE -1 END,
           status = CASE WHEN l.status = 'active' AND l.stock = n.qty THEN 'sold_out' ELSE l.status END,
           version = l.version + 1
      FROM unnest(p_need_ids, p_need_qty) AS n(listing_id, qty)
     WHERE l.id = n.listing_id;

    INSERT INTO orders (id, number, buyer_user_id, buyer_partner_id, external_ref, status, total_fen, delivery, expires_at, created_at)
    VALUES (p_id, p_number, p_buyer_user, p_buyer_partner, p_external_ref, 'pending_payment', p_total, p_delivery, p_expires_at, p_created_at);

    INSERT INTO order_events (id, order_id, from_status, to_status, actor, occurred_at)
    VALUES (p_event_id, p_id, NULL, 'pending_payment', p_actor, p_created_at);

    INSERT INTO seller_orders (id, order_id, seller_id, status, subtotal_fen, commission_fen, pickup_code, created_at, updated_at)
    SELECT s.id, p_id, s.seller, 'pending_payment', s.subtotal, s.commission, s.code, p_created_at, p_created_at
      FROM unnest(p_so_ids, p_so_sellers, p_so_subtotals, p_so_commissions, p_so_codes) AS s(id, seller, subtotal, commission, code);

    INSERT INTO order_items (id, order_id, seller_order_id, listing_id, title, unit_label, quantity, unit_price_fen,
                             line_total_fen, commission_bp, supplier_member_id, ship_from_date)
    SELECT i.id, p_id, i.so, i.listing, i.title, i.unit_label, i.qty, i.price, i.total, i.bp, i.member, i.ship
      FROM unnest(p_it_ids, p_it_sos, p_it_listings, p_it_titles, p_it_units, p_it_qty, p_it_prices, p_it_totals,
                  p_it_bps, p_it_members, p_it_ships)
           AS i(id, so, listing, title, unit_label, qty, price, total, bp, member, ship);

    INSERT INTO uncounted_sales (listing_id, quantity)
    SELECT n.listing_id, n.qty FROM unnest(p_need_ids, p_need_qty) AS n(listing_id, qty);

    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
