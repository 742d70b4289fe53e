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
            seller_order_completed(id, OrgId::new(), CompletedAmounts {
                items: Fen(items), freight: Fen(freight), commission,
                refunded: Fen(amount.min(items + freight)),
                commission_returned: Fen(commission.0 / 2),
            }),
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
        CompletedAmounts {
            items: Fen(68_000),
            freight: Fen(1_500),
            commission: Fen(2_720),
            ..CompletedAmounts::default()
        },
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
    // 100.00 of the items refunded before completion gave back 4.00 commission
    let e = seller_order_completed(
        uuid::Uuid::now_v7(),
        seller,
        CompletedAmounts {
            items: Fen(68_000),
            freight: Fen(1_500),
            commission: Fen(2_720),
            refunded: Fen(10_000),
            commission_returned: Fen(400),
        },
    );
    assert_eq!(
        e.lines,
        vec![
            (Account::BuyerFundsHeld, Fen(59_500)),
            (Account::SellerPayable(seller), Fen(-57_180)),
            (Account::CommissionRevenue, Fen(-2_320)),
        ]
    );
    assert_eq!(
        Account::ProviderClearing.account_type().kind(),
        AccountKind::Asset
    );
}
