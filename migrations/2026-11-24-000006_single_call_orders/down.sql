-- Back to two calls: begin_order (claim + snapshots) and place_order.
DROP FUNCTION order_snapshots(uuid[]);
DROP INDEX idempotency_keys_expires_idx;

-- Sales still waiting to be counted are counted now.
UPDATE listings l SET sold_qty = l.sold_qty + u.q
  FROM (SELECT listing_id, sum(quantity) AS q FROM uncounted_sales GROUP BY listing_id) u
 WHERE l.id = u.listing_id;
DROP TABLE uncounted_sales;
ALTER TABLE order_items ADD COLUMN counted boolean NOT NULL DEFAULT true;
ALTER TABLE order_items ALTER COLUMN counted SET DEFAULT false;
CREATE INDEX order_items_uncounted_idx ON order_items (id) WHERE NOT counted;
DROP FUNCTION count_sales(int);
CREATE FUNCTION count_sales(p_limit int) RETURNS SETOF uuid AS $$
BEGIN
    RETURN QUERY
    WITH batch AS (
        SELECT id FROM order_items WHERE NOT counted ORDER BY id LIMIT p_limit FOR UPDATE SKIP LOCKED
    ), marked AS (
        UPDATE order_items i SET counted = true FROM batch WHERE i.id = batch.id RETURNING i.listing_id, i.quantity
    ), per_listing AS (
        SELECT listing_id, sum(quantity) AS q FROM marked GROUP BY listing_id
    )
    UPDATE listings l SET sold_qty = l.sold_qty + p.q FROM per_listing p WHERE l.id = p.listing_id RETURNING l.id;
END;
$$ LANGUAGE plpgsql;
DROP FUNCTION place_order(uuid[], int4[], uuid, text, uuid, uuid, text, bigint, jsonb, timestamptz, timestamptz, uuid, text,
    uuid[], uuid[], int8[], int8[], text[], uuid[], uuid[], uuid[], text[], text[], int4[], int8[], int8[], int4[], uuid[], date[],
    text, text, text, timestamptz, int4, jsonb);

CREATE FUNCTION place_order(
    p_need_ids uuid[], p_need_qty int4[],
    p_id uuid, p_number text, p_buyer_user uuid, p_buyer_partner uuid, p_external_ref text,
    p_total bigint, p_delivery jsonb, p_expires_at timestamptz, p_created_at timestamptz,
    p_event_id uuid, p_actor text,
    p_so_ids uuid[], p_so_sellers uuid[], p_so_subtotals int8[], p_so_commissions int8[], p_so_codes text[],
    p_it_ids uuid[], p_it_sos uuid[], p_it_listings uuid[], p_it_titles text[], p_it_units text[], p_it_qty int4[],
    p_it_prices int8[], p_it_totals int8[], p_it_bps int4[], p_it_members uuid[], p_it_ships date[],
    p_idem_status int4, p_idem_body jsonb, p_idem_scope text, p_idem_key text
) RETURNS void AS $$
BEGIN
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

    UPDATE idempotency_keys
       SET status = 'completed', response_status = p_idem_status, response_body = p_idem_body
     WHERE scope = p_idem_scope AND key = p_idem_key;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION begin_order(p_scope text, p_key text, p_hash text, p_now timestamptz, p_expires timestamptz, p_ids uuid[])
RETURNS TABLE (claimed boolean, id uuid, seller_id uuid, kind text, title text, unit_label text, price_fen bigint,
               tier_prices jsonb, min_order_qty int, status text, stock int, sale_mode text, sale_terms jsonb,
               supplier_member_id uuid) AS $$
#variable_conflict use_column
DECLARE
    v_claimed boolean := true;
BEGIN
    IF p_scope IS NOT NULL THEN
        INSERT INTO idempotency_keys (scope, key, request_hash, status, created_at, expires_at)
        VALUES (p_scope, p_key, p_hash, 'in_flight', p_now, p_expires)
        ON CONFLICT DO NOTHING;
        v_claimed := FOUND;
    END IF;
    RETURN QUERY
        SELECT v_claimed, l.id, l.seller_id, o.kind, l.title, l.unit_label, l.price_fen, l.tier_prices, l.min_order_qty,
               l.status, l.stock, l.sale_mode, l.sale_terms, l.supplier_member_id
          FROM (SELECT 1) AS one
          LEFT JOIN (listings l JOIN organizations o ON o.id = l.seller_id) ON l.id = ANY (p_ids);
END;
$$ LANGUAGE plpgsql;
