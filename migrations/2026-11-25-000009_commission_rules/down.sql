DROP FUNCTION order_snapshots(uuid[]);
CREATE FUNCTION order_snapshots(p_ids uuid[])
RETURNS TABLE (id uuid, seller_id uuid, kind text, title text, unit_label text, price_fen bigint,
               tier_prices jsonb, min_order_qty int, status text, stock int, sale_mode text, sale_terms jsonb,
               supplier_member_id uuid, unit_weight_grams int, storage text, template_id uuid, template_spec jsonb)
STABLE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT l.id, l.seller_id, o.kind, l.title, l.unit_label, l.price_fen, l.tier_prices, l.min_order_qty,
               l.status, l.stock, l.sale_mode, l.sale_terms, l.supplier_member_id, l.unit_weight_grams, l.storage,
               t.id, t.spec
          FROM listings l
          JOIN organizations o ON o.id = l.seller_id
          LEFT JOIN freight_templates t
            ON t.id = COALESCE(l.freight_template_id,
                               (SELECT d.id FROM freight_templates d WHERE d.org_id = l.seller_id AND d.is_default))
         WHERE l.id = ANY (p_ids);
END;
$$ LANGUAGE plpgsql;

DROP TABLE commission_rules;
