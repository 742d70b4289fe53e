-- Traceability (质量安全追溯): production batches with a short printable
-- code and append-only events shaped after GS1 EPCIS (what, when, where,
-- why). A failed inspection pauses the batch's listings in the same
-- transaction (infra/src/trace.rs) and the database keeps them from being
-- published again while the batch stands failed.

CREATE TABLE trace_batches (
    -- 8 characters without 0/O/1/I/L (domain::trace::BatchCode)
    code               text PRIMARY KEY CHECK (code ~ '^[2-9A-HJKMNP-Z]{8}$'),
    producer_id        uuid NOT NULL REFERENCES organizations (id),
    supplier_member_id uuid REFERENCES members (id),
    category_id        uuid NOT NULL REFERENCES categories (id),
    variety            text NOT NULL,
    region_code        text NOT NULL CHECK (region_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    location           text NOT NULL,
    quantity           bigint NOT NULL CHECK (quantity > 0),
    unit               text NOT NULL,
    -- the domain's verdict after the last event: the current inspection failed
    inspection_failed  boolean NOT NULL DEFAULT false,
    created_by         uuid NOT NULL REFERENCES users (id),
    created_at         timestamptz NOT NULL
);
CREATE INDEX trace_batches_producer_idx ON trace_batches (producer_id);

CREATE TABLE trace_events (
    id                 uuid PRIMARY KEY,
    batch_code         text NOT NULL REFERENCES trace_batches (code),
    seq                integer NOT NULL CHECK (seq > 0),
    type               text NOT NULL CHECK (type IN ('planting', 'input_use', 'harvest', 'inspection',
                                                     'packing', 'cold_storage', 'shipping', 'delivery')),
    occurred_at        timestamptz NOT NULL,
    -- the offset the time was reported in, to show it back as given
    utc_offset_seconds integer NOT NULL CHECK (utc_offset_seconds BETWEEN -86399 AND 86399),
    region_code        text NOT NULL CHECK (region_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    place              text NOT NULL,
    data               jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    -- a correction names the event it corrects (same batch, same type);
    -- an event is corrected at most once
    corrects           uuid UNIQUE REFERENCES trace_events (id),
    recorded_by        uuid NOT NULL REFERENCES users (id),
    recorded_at        timestamptz NOT NULL,
    UNIQUE (batch_code, seq)
);

-- Events are append-only: the database refuses to change or remove one.
CREATE FUNCTION trace_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trace events are append-only: record a correction instead'
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER trace_events_no_update BEFORE UPDATE OR DELETE ON trace_events
    FOR EACH ROW EXECUTE FUNCTION trace_events_immutable();
CREATE TRIGGER trace_events_no_truncate BEFORE TRUNCATE ON trace_events
    FOR EACH STATEMENT EXECUTE FUNCTION trace_events_immutable();

-- Listings name their batch through the existing trace_batch_code. Codes
-- written before batches existed were free text: NOT VALID keeps them and
-- checks every new or changed code.
ALTER TABLE listings ADD CONSTRAINT listings_trace_batch_fk
    FOREIGN KEY (trace_batch_code) REFERENCES trace_batches (code) NOT VALID;
CREATE INDEX listings_trace_batch_idx ON listings (trace_batch_code) WHERE trace_batch_code IS NOT NULL;

-- A listing of a failed batch is not published again. The domain refuses it
-- first (catalog::CatalogService::change_status); this guard closes the race
-- with an inspection recorded at the same time: FOR SHARE waits for the
-- batch's lock, which recording an event holds, and then reads the verdict
-- it committed (the flag is read, not filtered on: a row a WHERE clause
-- rejects in the old snapshot would be skipped without waiting). Called
-- only when a listing with a batch becomes active.
CREATE FUNCTION trace_guard_publish() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT inspection_failed FROM trace_batches WHERE code = NEW.trace_batch_code FOR SHARE) THEN
        RAISE EXCEPTION 'batch % failed its inspection', NEW.trace_batch_code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'listings_trace_batch_failed';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER listings_trace_guard BEFORE UPDATE OF status ON listings
    FOR EACH ROW
    WHEN (NEW.status = 'active' AND OLD.status <> 'active' AND NEW.trace_batch_code IS NOT NULL)
    EXECUTE FUNCTION trace_guard_publish();

-- trace.inspection_failed (public: about the catalog), in the transaction
-- of the event
CREATE FUNCTION outbox_trace_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM outbox_emit('trace.inspection_failed', NULL, true, jsonb_build_object(
        'batch_code', NEW.batch_code, 'event_id', NEW.id, 'seq', NEW.seq,
        'lab', NEW.data -> 'lab', 'report_no', NEW.data -> 'report_no',
        'items', NEW.data -> 'items', 'occurred_at', NEW.occurred_at));
    RETURN NULL;
END;
$$;
CREATE TRIGGER trace_events_outbox AFTER INSERT ON trace_events
    FOR EACH ROW WHEN (NEW.type = 'inspection' AND NEW.data ->> 'result' = 'fail')
    EXECUTE FUNCTION outbox_trace_event();

-- What was sold: each order line keeps the batch code its listing named
-- (read with the listing by order_snapshots, written by place_order).
ALTER TABLE order_items ADD COLUMN trace_batch_code text;

DROP FUNCTION order_snapshots(uuid[]);
CREATE FUNCTION order_snapshots(p_ids uuid[])
RETURNS TABLE (id uuid, seller_id uuid, kind text, title text, unit_label text, price_fen bigint,
               tier_prices jsonb, min_order_qty int, status text, stock int, sale_mode text, sale_terms jsonb,
               supplier_member_id uuid, unit_weight_grams int, storage text, template_id uuid, template_spec jsonb,
               category_id uuid, root_category_id uuid, trace_batch_code text)
STABLE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT l.id, l.seller_id, o.kind, l.title, l.unit_label, l.price_fen, l.tier_prices, l.min_order_qty,
               l.status, l.stock, l.sale_mode, l.sale_terms, l.supplier_member_id, l.unit_weight_grams, l.storage,
               t.id, t.spec, l.category_id, l.root_category_id, l.trace_batch_code
          FROM listings l
          JOIN organizations o ON o.id = l.seller_id
          LEFT JOIN freight_templates t
            ON t.id = COALESCE(l.freight_template_id,
                               (SELECT d.id FROM freight_templates d WHERE d.org_id = l.seller_id AND d.is_default))
         WHERE l.id = ANY (p_ids);
END;
$$ LANGUAGE plpgsql;

-- place_order writes each line's trace batch code (its one current definition).
DROP FUNCTION place_order(uuid[], int4[], uuid, text, uuid, uuid, text, bigint, jsonb, timestamptz, timestamptz, uuid, text,
    uuid[], uuid[], int8[], int8[], int8[], text[], uuid[], uuid[], uuid[], text[], text[], int4[], int8[], int8[], int4[], uuid[], date[],
    text, text, text, timestamptz, int4, jsonb);
CREATE FUNCTION place_order(
    p_need_ids uuid[], p_need_qty int4[],
    p_id uuid, p_number text, p_buyer_user uuid, p_buyer_partner uuid, p_external_ref text,
    p_total bigint, p_delivery jsonb, p_expires_at timestamptz, p_created_at timestamptz,
    p_event_id uuid, p_actor text,
    p_so_ids uuid[], p_so_sellers uuid[], p_so_subtotals int8[], p_so_freights int8[], p_so_commissions int8[],
    p_so_codes text[],
    p_it_ids uuid[], p_it_sos uuid[], p_it_listings uuid[], p_it_titles text[], p_it_units text[], p_it_qty int4[],
    p_it_prices int8[], p_it_totals int8[], p_it_bps int4[], p_it_members uuid[], p_it_ships date[],
    p_it_traces text[],
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

    INSERT INTO seller_orders (id, order_id, seller_id, status, subtotal_fen, freight_fen, commission_fen, pickup_code,
                               created_at, updated_at)
    SELECT s.id, p_id, s.seller, 'pending_payment', s.subtotal, s.freight, s.commission, s.code, p_created_at, p_created_at
      FROM unnest(p_so_ids, p_so_sellers, p_so_subtotals, p_so_freights, p_so_commissions, p_so_codes)
           AS s(id, seller, subtotal, freight, commission, code);

    INSERT INTO order_items (id, order_id, seller_order_id, listing_id, title, unit_label, quantity, unit_price_fen,
                             line_total_fen, commission_bp, supplier_member_id, ship_from_date, trace_batch_code)
    SELECT i.id, p_id, i.so, i.listing, i.title, i.unit_label, i.qty, i.price, i.total, i.bp, i.member, i.ship, i.trace
      FROM unnest(p_it_ids, p_it_sos, p_it_listings, p_it_titles, p_it_units, p_it_qty, p_it_prices, p_it_totals,
                  p_it_bps, p_it_members, p_it_ships, p_it_traces)
           AS i(id, so, listing, title, unit_label, qty, price, total, bp, member, ship, trace);

    INSERT INTO uncounted_sales (listing_id, quantity)
    SELECT n.listing_id, n.qty FROM unnest(p_need_ids, p_need_qty) AS n(listing_id, qty);

    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
