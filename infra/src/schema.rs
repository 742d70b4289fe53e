// @generated automatically by Diesel CLI.

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        occurred_at -> Timestamptz,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Jsonb,
    }
}

diesel::table! {
    capital_contributions (id) {
        id -> Uuid,
        organization_id -> Uuid,
        member_id -> Uuid,
        amount_fen -> Int8,
        form -> Text,
        description -> Nullable<Text>,
        contributed_on -> Date,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    categories (id) {
        id -> Uuid,
        parent_id -> Nullable<Uuid>,
        code -> Text,
        name -> Text,
        sort -> Int4,
    }
}

diesel::table! {
    commission_rules (id) {
        id -> Uuid,
        category_id -> Nullable<Uuid>,
        seller_kind -> Nullable<Text>,
        rate_bp -> Int4,
        effective_from -> Date,
    }
}

diesel::table! {
    freight_templates (id) {
        id -> Uuid,
        org_id -> Uuid,
        name -> Text,
        is_default -> Bool,
        spec -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    group_buy_outcomes (listing_id) {
        listing_id -> Uuid,
        outcome -> Text,
        target_qty -> Int4,
        paid_qty -> Int8,
        decided_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Text,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    journal_entries (id) {
        id -> Uuid,
        description -> Text,
        source_kind -> Text,
        source_id -> Uuid,
        posted_at -> Timestamptz,
    }
}

diesel::table! {
    journal_lines (id) {
        id -> Uuid,
        entry_id -> Uuid,
        account_id -> Uuid,
        amount_fen -> Int8,
    }
}

diesel::table! {
    ledger_accounts (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamptz,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        owner_id -> Nullable<Uuid>,
        balance_fen -> Int8,
    }
}

diesel::table! {
    listings (id) {
        id -> Uuid,
        seller_id -> Uuid,
        supplier_member_id -> Nullable<Uuid>,
        title -> Text,
        description -> Text,
        category_id -> Uuid,
        root_category_id -> Uuid,
        variety -> Text,
        grade -> Text,
        unit_label -> Text,
        unit_weight_grams -> Int4,
        price_fen -> Int8,
        tier_prices -> Jsonb,
        min_order_qty -> Int4,
        stock -> Int4,
        origin_region_code -> Text,
        harvest_date -> Nullable<Date>,
        shelf_life_days -> Nullable<Int4>,
        storage -> Text,
        certifications -> Jsonb,
        cert_kinds -> Array<Nullable<Text>>,
        trace_batch_code -> Nullable<Text>,
        images -> Jsonb,
        sale_mode -> Text,
        sale_terms -> Jsonb,
        status -> Text,
        version -> Int4,
        sold_qty -> Int8,
        search_terms -> Array<Nullable<Text>>,
        searchable -> Nullable<Bool>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        freight_template_id -> Nullable<Uuid>,
        search_changed_at -> Timestamptz,
    }
}

diesel::table! {
    member_events (id) {
        id -> Uuid,
        organization_id -> Uuid,
        member_id -> Nullable<Uuid>,
        application_id -> Nullable<Uuid>,
        event -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        actor_id -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        details -> Jsonb,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    member_quantifications (id) {
        id -> Uuid,
        organization_id -> Uuid,
        member_id -> Uuid,
        kind -> Text,
        fiscal_year -> Int4,
        amount_fen -> Int8,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    member_transactions (id) {
        id -> Uuid,
        organization_id -> Uuid,
        member_id -> Uuid,
        fiscal_year -> Int4,
        amount_fen -> Int8,
        source -> Text,
        reference -> Nullable<Text>,
        recorded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    members (id) {
        id -> Uuid,
        organization_id -> Uuid,
        user_id -> Nullable<Uuid>,
        member_organization_id -> Nullable<Uuid>,
        is_farmer -> Bool,
        status -> Text,
        joined_at -> Timestamptz,
        left_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    membership_applications (id) {
        id -> Uuid,
        organization_id -> Uuid,
        applicant_user_id -> Nullable<Uuid>,
        applicant_organization_id -> Nullable<Uuid>,
        is_farmer -> Bool,
        note -> Nullable<Text>,
        status -> Text,
        member_id -> Nullable<Uuid>,
        submitted_by -> Uuid,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        decision_reason -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    order_events (id) {
        id -> Uuid,
        order_id -> Uuid,
        seller_order_id -> Nullable<Uuid>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    order_items (id) {
        id -> Uuid,
        order_id -> Uuid,
        seller_order_id -> Uuid,
        listing_id -> Uuid,
        title -> Text,
        unit_label -> Text,
        quantity -> Int4,
        unit_price_fen -> Int8,
        line_total_fen -> Int8,
        commission_bp -> Int4,
        supplier_member_id -> Nullable<Uuid>,
        ship_from_date -> Nullable<Date>,
        refunded_fen -> Int8,
        trace_batch_code -> Nullable<Text>,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        number -> Text,
        buyer_user_id -> Nullable<Uuid>,
        buyer_partner_id -> Nullable<Uuid>,
        external_ref -> Nullable<Text>,
        status -> Text,
        total_fen -> Int8,
        delivery -> Jsonb,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    organization_staff (organization_id, user_id) {
        organization_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        credit_code -> Text,
        region_code -> Text,
        parent_id -> Nullable<Uuid>,
        contact_email -> Text,
        additional_vote_basis -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        pickup_fee_fen -> Int8,
    }
}

diesel::table! {
    outbox_cursor (id) {
        id -> Bool,
        txid -> Int8,
        seq -> Int8,
    }
}

diesel::table! {
    outbox_deliveries (id) {
        id -> Uuid,
        event_id -> Uuid,
        channel -> Text,
        webhook_id -> Nullable<Uuid>,
        partner_id -> Nullable<Uuid>,
        recipient -> Text,
        template -> Nullable<Text>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Uuid,
        txid -> Int8,
        seq -> Int8,
        #[sql_name = "type"]
        type_ -> Text,
        version -> Int4,
        partner_id -> Nullable<Uuid>,
        public -> Bool,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    partners (id) {
        id -> Uuid,
        name -> Text,
        client_id -> Text,
        secret_hash -> Text,
        scopes -> Array<Nullable<Text>>,
        status -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        secret_rotated_at -> Timestamptz,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        order_id -> Uuid,
        amount_fen -> Int8,
        provider -> Text,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refund_request_parts (refund_request_id, position) {
        refund_request_id -> Uuid,
        position -> Int4,
        order_item_id -> Nullable<Uuid>,
        amount_fen -> Int8,
        commission_returned_fen -> Nullable<Int8>,
    }
}

diesel::table! {
    refund_requests (id) {
        id -> Uuid,
        seller_order_id -> Uuid,
        order_id -> Uuid,
        seller_id -> Uuid,
        origin -> Text,
        order_item_id -> Nullable<Uuid>,
        quantity -> Nullable<Int4>,
        amount_fen -> Int8,
        reason -> Text,
        photo_urls -> Jsonb,
        status -> Text,
        note -> Nullable<Text>,
        commission_returned_fen -> Nullable<Int8>,
        after_completion -> Nullable<Bool>,
        refunded_at -> Nullable<Timestamptz>,
        created_by -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sales_daily_categories (day, seller_id, category_id) {
        day -> Date,
        seller_id -> Uuid,
        category_id -> Uuid,
        gross_fen -> Int8,
        orders -> Int4,
        units -> Int8,
        refunds_fen -> Int8,
    }
}

diesel::table! {
    sales_daily_category_totals (day, category_id) {
        day -> Date,
        category_id -> Uuid,
        gross_fen -> Int8,
        orders -> Int4,
        units -> Int8,
        refunds_fen -> Int8,
    }
}

diesel::table! {
    sales_daily_sellers (day, seller_id) {
        day -> Date,
        seller_id -> Uuid,
        gross_fen -> Int8,
        orders -> Int4,
        units -> Int8,
        refunds_fen -> Int8,
    }
}

diesel::table! {
    sales_hours (hour) {
        hour -> Timestamptz,
        sealed_at -> Timestamptz,
    }
}

diesel::table! {
    search_synonyms (id) {
        id -> Int2,
        version -> Int8,
        groups -> Jsonb,
    }
}

diesel::table! {
    seller_orders (id) {
        id -> Uuid,
        order_id -> Uuid,
        seller_id -> Uuid,
        status -> Text,
        subtotal_fen -> Int8,
        commission_fen -> Int8,
        carrier -> Nullable<Text>,
        tracking_no -> Nullable<Text>,
        pickup_code -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        freight_fen -> Int8,
        completed_at -> Nullable<Timestamptz>,
        freight_refunded_fen -> Int8,
        held_refunded_fen -> Int8,
        held_commission_returned_fen -> Int8,
    }
}

diesel::table! {
    settlements (id) {
        id -> Uuid,
        period_end -> Date,
        hold_days -> Int4,
        cutoff -> Date,
        statement_count -> Int4,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    shipment_events (id) {
        id -> Uuid,
        shipment_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        occurred_at -> Timestamptz,
        utc_offset_seconds -> Int4,
        region_code -> Text,
        place -> Text,
        temperature_dc -> Nullable<Int4>,
        organization_id -> Uuid,
        recorded_by -> Text,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    shipment_items (shipment_id, order_item_id) {
        shipment_id -> Uuid,
        order_item_id -> Uuid,
        quantity -> Int4,
    }
}

diesel::table! {
    shipments (id) {
        id -> Uuid,
        seller_order_id -> Uuid,
        carrier -> Text,
        tracking_no -> Text,
        route_org_ids -> Array<Nullable<Uuid>>,
        cold_chain -> Bool,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    statement_lines (statement_id, seller_order_id) {
        statement_id -> Uuid,
        seller_order_id -> Uuid,
        completed_at -> Timestamptz,
        items_fen -> Int8,
        freight_fen -> Int8,
        commission_fen -> Int8,
        net_fen -> Int8,
        refunded_fen -> Int8,
    }
}

diesel::table! {
    statement_refunds (statement_id, refund_request_id) {
        statement_id -> Uuid,
        refund_request_id -> Uuid,
        seller_order_id -> Uuid,
        refunded_at -> Timestamptz,
        amount_fen -> Int8,
        commission_returned_fen -> Int8,
        net_fen -> Int8,
    }
}

diesel::table! {
    statements (id) {
        id -> Uuid,
        settlement_id -> Uuid,
        seller_id -> Uuid,
        gross_fen -> Int8,
        commission_fen -> Int8,
        refunds_fen -> Int8,
        carried_over_fen -> Int8,
        net_payable_fen -> Int8,
        status -> Text,
        bank_reference -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    surplus_allocations (distribution_id, member_id) {
        distribution_id -> Uuid,
        member_id -> Uuid,
        patronage_fen -> Int8,
        capital_fen -> Int8,
        total_fen -> Int8,
    }
}

diesel::table! {
    surplus_distributions (id) {
        id -> Uuid,
        organization_id -> Uuid,
        fiscal_year -> Int4,
        distributable_surplus_fen -> Int8,
        patronage_ratio_bp -> Int4,
        patronage_pool_fen -> Int8,
        capital_pool_fen -> Int8,
        journal_entry_id -> Uuid,
        committed_by -> Uuid,
        committed_at -> Timestamptz,
    }
}

diesel::table! {
    trace_batches (code) {
        code -> Text,
        producer_id -> Uuid,
        supplier_member_id -> Nullable<Uuid>,
        category_id -> Uuid,
        variety -> Text,
        region_code -> Text,
        location -> Text,
        quantity -> Int8,
        unit -> Text,
        inspection_failed -> Bool,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    trace_events (id) {
        id -> Uuid,
        batch_code -> Text,
        seq -> Int4,
        #[sql_name = "type"]
        type_ -> Text,
        occurred_at -> Timestamptz,
        utc_offset_seconds -> Int4,
        region_code -> Text,
        place -> Text,
        data -> Jsonb,
        corrects -> Nullable<Uuid>,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        password_hash -> Text,
        display_name -> Text,
        is_platform_admin -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        partner_id -> Uuid,
        url -> Text,
        event_types -> Array<Nullable<Text>>,
        secret -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(capital_contributions -> members (member_id));
diesel::joinable!(capital_contributions -> organizations (organization_id));
diesel::joinable!(capital_contributions -> users (recorded_by));
diesel::joinable!(commission_rules -> categories (category_id));
diesel::joinable!(freight_templates -> organizations (org_id));
diesel::joinable!(group_buy_outcomes -> listings (listing_id));
diesel::joinable!(journal_lines -> journal_entries (entry_id));
diesel::joinable!(journal_lines -> ledger_accounts (account_id));
diesel::joinable!(listings -> members (supplier_member_id));
diesel::joinable!(listings -> organizations (seller_id));
diesel::joinable!(listings -> trace_batches (trace_batch_code));
diesel::joinable!(member_events -> members (member_id));
diesel::joinable!(member_events -> membership_applications (application_id));
diesel::joinable!(member_events -> organizations (organization_id));
diesel::joinable!(member_events -> users (actor_id));
diesel::joinable!(member_quantifications -> members (member_id));
diesel::joinable!(member_quantifications -> organizations (organization_id));
diesel::joinable!(member_quantifications -> users (recorded_by));
diesel::joinable!(member_transactions -> members (member_id));
diesel::joinable!(member_transactions -> organizations (organization_id));
diesel::joinable!(member_transactions -> users (recorded_by));
diesel::joinable!(members -> users (user_id));
diesel::joinable!(order_events -> orders (order_id));
diesel::joinable!(order_events -> seller_orders (seller_order_id));
diesel::joinable!(order_items -> listings (listing_id));
diesel::joinable!(order_items -> members (supplier_member_id));
diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(order_items -> seller_orders (seller_order_id));
diesel::joinable!(orders -> partners (buyer_partner_id));
diesel::joinable!(orders -> users (buyer_user_id));
diesel::joinable!(organization_staff -> organizations (organization_id));
diesel::joinable!(organization_staff -> users (user_id));
diesel::joinable!(organizations -> users (created_by));
diesel::joinable!(outbox_deliveries -> outbox_events (event_id));
diesel::joinable!(outbox_deliveries -> partners (partner_id));
diesel::joinable!(outbox_deliveries -> webhooks (webhook_id));
diesel::joinable!(outbox_events -> partners (partner_id));
diesel::joinable!(partners -> users (created_by));
diesel::joinable!(payments -> orders (order_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(refund_request_parts -> order_items (order_item_id));
diesel::joinable!(refund_request_parts -> refund_requests (refund_request_id));
diesel::joinable!(refund_requests -> order_items (order_item_id));
diesel::joinable!(refund_requests -> orders (order_id));
diesel::joinable!(refund_requests -> organizations (seller_id));
diesel::joinable!(refund_requests -> seller_orders (seller_order_id));
diesel::joinable!(sales_daily_categories -> categories (category_id));
diesel::joinable!(sales_daily_categories -> organizations (seller_id));
diesel::joinable!(sales_daily_category_totals -> categories (category_id));
diesel::joinable!(sales_daily_sellers -> organizations (seller_id));
diesel::joinable!(seller_orders -> orders (order_id));
diesel::joinable!(seller_orders -> organizations (seller_id));
diesel::joinable!(settlements -> users (created_by));
diesel::joinable!(shipment_events -> organizations (organization_id));
diesel::joinable!(shipment_events -> shipments (shipment_id));
diesel::joinable!(shipment_items -> order_items (order_item_id));
diesel::joinable!(shipment_items -> shipments (shipment_id));
diesel::joinable!(shipments -> seller_orders (seller_order_id));
diesel::joinable!(statement_lines -> seller_orders (seller_order_id));
diesel::joinable!(statement_lines -> statements (statement_id));
diesel::joinable!(statement_refunds -> refund_requests (refund_request_id));
diesel::joinable!(statement_refunds -> seller_orders (seller_order_id));
diesel::joinable!(statement_refunds -> statements (statement_id));
diesel::joinable!(statements -> organizations (seller_id));
diesel::joinable!(statements -> settlements (settlement_id));
diesel::joinable!(surplus_allocations -> members (member_id));
diesel::joinable!(surplus_allocations -> surplus_distributions (distribution_id));
diesel::joinable!(surplus_distributions -> journal_entries (journal_entry_id));
diesel::joinable!(surplus_distributions -> organizations (organization_id));
diesel::joinable!(surplus_distributions -> users (committed_by));
diesel::joinable!(trace_batches -> categories (category_id));
diesel::joinable!(trace_batches -> members (supplier_member_id));
diesel::joinable!(trace_batches -> organizations (producer_id));
diesel::joinable!(trace_batches -> users (created_by));
diesel::joinable!(trace_events -> trace_batches (batch_code));
diesel::joinable!(trace_events -> users (recorded_by));
diesel::joinable!(webhooks -> partners (partner_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    capital_contributions,
    categories,
    commission_rules,
    freight_templates,
    group_buy_outcomes,
    idempotency_keys,
    journal_entries,
    journal_lines,
    ledger_accounts,
    listings,
    member_events,
    member_quantifications,
    member_transactions,
    members,
    membership_applications,
    order_events,
    order_items,
    orders,
    organization_staff,
    organizations,
    outbox_cursor,
    outbox_deliveries,
    outbox_events,
    partners,
    payments,
    refresh_tokens,
    refund_request_parts,
    refund_requests,
    sales_daily_categories,
    sales_daily_category_totals,
    sales_daily_sellers,
    sales_hours,
    search_synonyms,
    seller_orders,
    settlements,
    shipment_events,
    shipment_items,
    shipments,
    statement_lines,
    statement_refunds,
    statements,
    surplus_allocations,
    surplus_distributions,
    trace_batches,
    trace_events,
    users,
    webhooks,
);
