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

diesel::joinable!(partners -> users (created_by));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(audit_log, partners, refresh_tokens, users,);
