//! Schemas for values whose rules the server enforces, so the OpenAPI
//! document states them (`#[param(schema_with = …)]`, `#[schema(schema_with
//! = …)]`). Each names the rule it mirrors; a rule changed there must change
//! here (the schemathesis run in `scripts/dev test` catches a mismatch).

use domain::wire::WireEnum;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::Object;

use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};

/// One of `T`'s texts (`domain::wire_enum!`).
pub fn one_of<T: WireEnum>() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::NAMES.iter().copied()))
        .build()
}

/// One of `T`'s texts, or null.
pub fn optional_one_of<T: WireEnum>() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .enum_values(Some(
            T::NAMES
                .iter()
                .map(|n| serde_json::Value::from(*n))
                .chain(std::iter::once(serde_json::Value::Null)),
        ))
        .build()
}

/// `limit` of a page: `pagination::limit`.
pub fn limit() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .default(Some(DEFAULT_LIMIT.into()))
        .build()
}

/// `limit` of the partner catalog feed (1–1000, default 500).
pub fn feed_limit() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(1000))
        .default(Some(500.into()))
        .build()
}

/// An opaque cursor from `next_cursor` (URL-safe base64, no padding).
pub fn cursor() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(512))
        .pattern(Some("^[A-Za-z0-9_-]+$"))
        .build()
}

/// A GB/T 2260 prefix (`domain::region::is_valid_prefix`): 1–12 digits.
pub fn region_prefix() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9]{1,12}$"))
        .build()
}

/// A fiscal year (`coop::check_year`).
pub fn fiscal_year() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(2000))
        .maximum(Some(2100))
        .build()
}

/// Search text (`CatalogService::search`): at most 50 characters.
pub fn search_text() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(50))
        .build()
}

/// `facets`: facet names separated by commas (`category,region`).
pub fn facet_list() -> Object {
    let one = domain::search::FacetName::ALL
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join("|");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^({one})(,({one}))*$")))
        .build()
}

/// Text for suggestions: 1–20 characters.
pub fn suggest_text() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(20))
        .build()
}

fn strings(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// OAuth2 grants of `POST /auth/token` (`routes::auth::token`).
pub fn grant_type() -> Object {
    strings(&["password", "refresh_token", "client_credentials"])
}

/// `delivery.method` of an order (`routes::orders::to_input`).
pub fn delivery_method() -> Object {
    strings(&["home_delivery", "station_pickup"])
}

/// A non-negative amount of fen.
pub fn fen_at_least_zero() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .build()
}

/// Photos of an after-sales request: `domain::after_sales::plan_refund`
/// (at most 9 http(s) URLs of at most 500 characters, no spaces).
pub fn photo_urls() -> utoipa::openapi::schema::Array {
    use domain::after_sales::{MAX_PHOTOS, MAX_PHOTO_URL_LEN};
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^https?://\S+$"))
                .max_length(Some(MAX_PHOTO_URL_LEN)),
        )
        .max_items(Some(MAX_PHOTOS))
        .build()
}

/// The event types a partner may subscribe to:
/// `domain::notifications::check_subscription`.
pub fn webhook_event_types() -> utoipa::openapi::schema::Array {
    use domain::notifications::{EVENT_TYPES, MAX_EVENT_TYPES};
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(
                    EVENT_TYPES
                        .iter()
                        .filter(|(_, partners)| *partners)
                        .map(|(t, _)| *t),
                )),
        )
        .min_items(Some(1))
        .max_items(Some(MAX_EVENT_TYPES))
        .examples(Some(serde_json::json!([
            "order.paid",
            "seller_order.shipped"
        ])))
        .build()
}
