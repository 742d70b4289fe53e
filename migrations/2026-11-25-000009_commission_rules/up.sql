-- Commission rules (basis points by category subtree and/or seller kind,
-- in force from a date); the rate in force is snapshotted per order line.
CREATE TABLE commission_rules (
    id             uuid PRIMARY KEY,
    category_id    uuid REFERENCES categories (id),
    seller_kind    text,
    rate_bp        integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 3000),
    effective_from date NOT NULL,
    UNIQUE NULLS NOT DISTINCT (category_id, seller_kind, effective_from)
);
-- The rates orders used so far, as rules.
INSERT INTO commission_rules (id, category_id, seller_kind, rate_bp, effective_from) VALUES
    (gen_random_uuid(), NULL, NULL, 500, '2026-01-01'),
    (gen_random_uuid(), NULL, 'supply_marketing_coop', 300, '2026-01-01'),
    (gen_random_uuid(), NULL, 'grassroots_coop', 300, '2026-01-01'),
    (gen_random_uuid(), NULL, 'farmer_coop', 400, '2026-01-01'),
    (gen_random_uuid(), NULL, 'coop_union', 400, '2026-01-01');

-- Pricing reads each listing's category (and its top-level category) for
-- the commission rules, still in the one snapshot call.
DROP FUNCTION order_snapshots(uuid[]);
CREATE FUNCTION order_snapshots(p_ids uuid[])
RETURNS TABLE (id uuid, seller_id uuid, kind text, title text, unit_label text, price_fen bigint,
               tier_prices jsonb, min_order_qty int, status text, stock int, sale_mode text, sale_terms jsonb,
               supplier_member_id uuid, unit_weight_grams int, storage text, template_id uuid, template_spec jsonb,
               category_id uuid, root_category_id uuid)
STABLE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT l.id, l.seller_id, o.kind, l.title, l.unit_label, l.price_fen, l.tier_prices, l.min_order_qty,
               l.status, l.stock, l.sale_mode, l.sale_terms, l.supplier_member_id, l.unit_weight_grams, l.storage,
               t.id, t.spec, l.category_id, l.root_category_id
          FROM listings l
          JOIN organizations o ON o.id = l.seller_id
          LEFT JOIN freight_templates t
            ON t.id = COALESCE(l.freight_template_id,
                               (SELECT d.id FROM freight_templates d WHERE d.org_id = l.seller_id AND d.is_default))
         WHERE l.id = ANY (p_ids);
END;
$$ LANGUAGE plpgsql;
