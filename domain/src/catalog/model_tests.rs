//! Unit tests of the rules in `model.rs`.

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default()
}

fn valid() -> ListingInput {
    ListingInput {
        title: Some("合心甜瓜 5kg箱".into()),
        category_id: Some(CategoryId::new()),
        variety: Some("羊角蜜".into()),
        grade: Some("grade_1".into()),
        unit_label: Some("5kg箱".into()),
        unit_weight_grams: Some(5000),
        price_fen: Some(6800),
        tier_prices: Some(vec![
            TierPrice {
                min_qty: 10,
                price_fen: 6200,
            },
            TierPrice {
                min_qty: 50,
                price_fen: 5800,
            },
        ]),
        stock: Some(300),
        origin_region_code: Some("220106".into()),
        storage: Some("chilled".into()),
        ..ListingInput::default()
    }
}

#[test]
fn a_valid_listing_resolves() {
    let f = valid().resolve(None, today(), Utc::now());
    assert!(f.is_ok(), "{f:?}");
    let f = f.unwrap_or_else(|_| unreachable!());
    assert_eq!(f.sale, SaleTerms::Spot);
    assert_eq!(f.min_order_qty, 1);
}

#[test]
fn tier_rules() {
    let mut e = ValidationErrors::new();
    check_tiers(
        6800,
        1,
        &[
            TierPrice {
                min_qty: 10,
                price_fen: 6200,
            },
            TierPrice {
                min_qty: 50,
                price_fen: 5800,
            },
        ],
        &mut e,
    );
    assert!(e.is_empty());
    let cases: [&[TierPrice]; 5] = [
        &[
            TierPrice {
                min_qty: 50,
                price_fen: 6200,
            },
            TierPrice {
                min_qty: 10,
                price_fen: 5800,
            },
        ], // not ascending
        &[
            TierPrice {
                min_qty: 10,
                price_fen: 5800,
            },
            TierPrice {
                min_qty: 50,
                price_fen: 6200,
            },
        ], // not descending
        &[
            TierPrice {
                min_qty: 10,
                price_fen: 6200,
            },
            TierPrice {
                min_qty: 50,
                price_fen: 6200,
            },
        ], // equal price
        &[TierPrice {
            min_qty: 10,
            price_fen: 6800,
        }], // not below base
        &[TierPrice {
            min_qty: 1,
            price_fen: 6000,
        }], // not above min order
    ];
    for tiers in cases {
        let mut e = ValidationErrors::new();
        check_tiers(6800, 1, tiers, &mut e);
        assert!(!e.is_empty(), "{tiers:?}");
    }
}

#[test]
fn tier_price_for_quantity() {
    let tiers = [
        TierPrice {
            min_qty: 10,
            price_fen: 6200,
        },
        TierPrice {
            min_qty: 50,
            price_fen: 5800,
        },
    ];
    assert_eq!(unit_price(Fen(6800), &tiers, 1), Fen(6800));
    assert_eq!(unit_price(Fen(6800), &tiers, 9), Fen(6800));
    assert_eq!(unit_price(Fen(6800), &tiers, 10), Fen(6200));
    assert_eq!(unit_price(Fen(6800), &tiers, 49), Fen(6200));
    assert_eq!(unit_price(Fen(6800), &tiers, 50), Fen(5800));
    assert_eq!(unit_price(Fen(6800), &[], 500), Fen(6800));
}

#[test]
fn sale_modes_need_their_fields() {
    let mut presale = valid();
    presale.sale_mode = Some("presale".into());
    assert!(presale.resolve(None, today(), Utc::now()).is_err());
    presale.ship_from_date = Some(Some(today() + chrono::Duration::days(30)));
    assert!(presale.resolve(None, today(), Utc::now()).is_ok());
    let mut group = valid();
    group.sale_mode = Some("group_buy".into());
    let errs = group
        .resolve(None, today(), Utc::now())
        .err()
        .map(|e| e.0.len());
    assert_eq!(errs, Some(2));
    let mut spot = valid();
    spot.ship_from_date = Some(Some(today()));
    assert!(spot.resolve(None, today(), Utc::now()).is_err());
}

#[test]
fn expired_certificates_and_bad_fields_are_reported_together() {
    let mut input = valid();
    input.certifications = Some(vec![CertificationInput {
        kind: "green".into(),
        cert_no: "LB-18-1".into(),
        valid_until: today() - chrono::Duration::days(1),
    }]);
    input.price_fen = Some(0);
    input.images = Some(vec!["ftp://x".into()]);
    let fields: Vec<String> = input
        .resolve(None, today(), Utc::now())
        .err()
        .map(|e| e.0.into_iter().map(|f| f.field).collect())
        .unwrap_or_default();
    assert!(fields.contains(&"price_fen".to_owned()), "{fields:?}");
    assert!(
        fields.contains(&"certifications[0]".to_owned()),
        "{fields:?}"
    );
    assert!(fields.contains(&"images[0]".to_owned()), "{fields:?}");
}

#[test]
fn patch_keeps_untouched_fields() {
    let base = valid()
        .resolve(None, today(), Utc::now())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let patch = ListingInput {
        price_fen: Some(7000),
        ..ListingInput::default()
    };
    let f = patch
        .resolve(Some(&base), today(), Utc::now())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(f.price, Fen(7000));
    assert_eq!(f.title, base.title);
    assert_eq!(f.tier_prices, base.tier_prices);
}

#[test]
fn status_machine() {
    use ListingStatus::*;
    assert_eq!(next_status(Draft, StatusAction::Publish, 5), Ok(Active));
    assert_eq!(next_status(Draft, StatusAction::Publish, 0), Ok(SoldOut));
    assert_eq!(next_status(Active, StatusAction::Pause, 5), Ok(Paused));
    assert_eq!(next_status(Paused, StatusAction::Publish, 5), Ok(Active));
    assert_eq!(
        next_status(Archived, StatusAction::Publish, 5),
        Err((Archived, "publish"))
    );
    assert_eq!(
        next_status(Draft, StatusAction::Pause, 5),
        Err((Draft, "pause"))
    );
    assert_eq!(
        next_status(Archived, StatusAction::Archive, 5),
        Err((Archived, "archive"))
    );
    assert_eq!(status_for_stock(Active, 0), SoldOut);
    assert_eq!(status_for_stock(SoldOut, 3), Active);
    assert_eq!(status_for_stock(Paused, 0), Paused);
    assert_eq!(status_for_stock(Draft, 0), Draft);
}
