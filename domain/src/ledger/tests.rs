use proptest::prelude::*;

use super::*;

proptest! {
    #[test]
    fn every_event_posts_a_balanced_entry(
        amount in 0..10_000_000_000i64, items in 1..10_000_000_000i64, freight in 0..10_000_000i64,
        bp in 0..=10_000u32,
    ) {
        let id = uuid::Uuid::now_v7();
        let commission = Fen(items).apply_basis_points(bp);
        for e in [
            payment_captured(id, Fen(amount)),
            payment_refunded(id, Fen(amount)),
            seller_order_completed(id, OrgId::new(), Fen(items), Fen(freight), commission),
            seller_order_refunded(id, Fen(amount)),
        ] {
            prop_assert!(e.is_balanced(), "{e:?}");
        }
    }
}

#[test]
fn completion_pays_the_seller_items_and_freight_less_commission() {
    let seller = OrgId::new();
    let e = seller_order_completed(
        uuid::Uuid::now_v7(),
        seller,
        Fen(68_000),
        Fen(1_500),
        Fen(2_720),
    );
    assert_eq!(
        e.lines,
        vec![
            (Account::BuyerFundsHeld, Fen(69_500)),
            (Account::SellerPayable(seller), Fen(-66_780)),
            (Account::CommissionRevenue, Fen(-2_720)),
        ]
    );
    assert_eq!(
        Account::SellerPayable(seller).code(3),
        format!("org:{seller}:seller_payable")
    );
    assert_eq!(
        Account::ProviderClearing.code(3),
        "platform:provider_clearing:3"
    );
    assert!(e.shard() < PLATFORM_SHARDS);
    assert_eq!(
        Account::ProviderClearing.account_type().kind(),
        AccountKind::Asset
    );
}
