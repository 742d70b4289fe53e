//! Statistics rules and access through in-memory adapters.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::catalog::ListingId;
use crate::coop::memory::MemoryOrgs;
use crate::coop::{AdditionalVoteBasis, CreditCode, OrgId, OrgKind, Organization, Viewer};
use crate::identity::UserId;
use crate::money::Fen;
use crate::region::RegionCode;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

#[test]
fn business_days_are_china_standard_time() {
    // 2026-11-30 16:00 UTC is 2026-12-01 00:00 in Beijing
    assert_eq!(day_of(at(2026, 11, 30, 15, 59)), date(2026, 11, 30));
    assert_eq!(day_of(at(2026, 11, 30, 16, 0)), date(2026, 12, 1));
    assert_eq!(day_start(date(2026, 12, 1)), at(2026, 11, 30, 16, 0));
    // an hour is sealed five minutes after it ended
    let margin = Duration::minutes(5);
    assert_eq!(hour_of(at(2026, 11, 30, 16, 59)), at(2026, 11, 30, 16, 0));
    assert_eq!(
        last_sealable(at(2026, 11, 30, 17, 4), margin),
        at(2026, 11, 30, 15, 0)
    );
    assert_eq!(
        last_sealable(at(2026, 11, 30, 17, 5), margin),
        at(2026, 11, 30, 16, 0)
    );
    // every hour lies in one business day
    for h in 0..48 {
        let start = at(2026, 11, 30, 0, 0) + Duration::hours(h);
        assert_eq!(day_of(start), day_of(start + Duration::minutes(59)));
    }
}

#[test]
fn periods_are_ordered_and_bounded() {
    assert!(Period::new(date(2026, 11, 1), date(2026, 11, 30)).is_ok());
    assert!(Period::new(date(2026, 11, 2), date(2026, 11, 1)).is_err());
    // at most 366 days, both ends included
    assert!(Period::new(date(2024, 12, 31), date(2026, 1, 1)).is_err());
    assert!(Period::new(date(2025, 1, 1), date(2026, 1, 1)).is_ok());
    let p = Period::new(date(2026, 11, 1), date(2026, 11, 1)).unwrap();
    assert_eq!(
        p.bounds(),
        (at(2026, 10, 31, 16, 0), at(2026, 11, 1, 16, 0))
    );
}

fn sales(stock: i32, sold: i64) -> ListingSales {
    ListingSales {
        listing_id: ListingId::new(),
        title: "滞销白菜".into(),
        seller_id: OrgId::new(),
        origin_region_code: "220106".into(),
        stock,
        sold,
    }
}

#[test]
fn unsalable_is_high_stock_and_low_sell_through() {
    let rule = AlertRule {
        min_stock: 100,
        threshold_bp: 1000,
    };
    assert_eq!(rule.check(&sales(500, 0)), Some(0));
    assert_eq!(rule.check(&sales(900, 99)), Some(990)); // 99 / 999
    assert_eq!(rule.check(&sales(900, 100)), None); // exactly 10 %
    assert_eq!(rule.check(&sales(99, 0)), None); // too little stock to worry
    let a = sales(200, 1);
    let b = sales(900, 1);
    let c = sales(300, 0);
    let alerts = rule.alerts(vec![a.clone(), b.clone(), c.clone(), sales(100, 500)]);
    let order: Vec<ListingId> = alerts.iter().map(|x| x.listing.listing_id).collect();
    // worst first: 0 bp, then 1/901 → 11 bp before 1/201 → 49 bp
    assert_eq!(order, vec![c.listing_id, b.listing_id, a.listing_id]);
}

proptest! {
    /// More sales never raise an alert that fewer sales did not; more stock
    /// never clears one.
    #[test]
    fn alerts_are_monotonic(stock in 0i32..100_000, sold in 0i64..100_000, more in 0i64..10_000,
                            min_stock in 0i32..1000, threshold_bp in 0u32..10_000) {
        let rule = AlertRule { min_stock, threshold_bp };
        let base = sales(stock, sold);
        let more_sold = ListingSales { sold: sold + more, ..base.clone() };
        if rule.check(&more_sold).is_some() {
            prop_assert!(rule.check(&base).is_some());
        }
        let more_stock = ListingSales { stock: stock.saturating_add(i32::try_from(more).unwrap()), ..base.clone() };
        if rule.check(&base).is_some() {
            prop_assert!(rule.check(&more_stock).is_some());
        }
        if let Some(bp) = rule.check(&base) {
            prop_assert!(bp < threshold_bp && stock >= min_stock);
        }
    }
}

/// A store that records the scope it was asked for.
#[derive(Default)]
struct FakeSales {
    smc: Mutex<Vec<(UserId, OrgId)>>,
    asked: Mutex<Vec<Scope>>,
    rows: Vec<StoredRow>,
}

impl SalesStore for FakeSales {
    fn seal_through(&self, _: DateTime<Utc>, _: usize, _: DateTime<Utc>) -> Result<usize, Unknown> {
        Ok(0)
    }
    fn sales(
        &self,
        _: &Period,
        _: GroupBy,
        scope: &Scope,
    ) -> Result<(Vec<StoredRow>, Figures), Unknown> {
        self.asked.lock().unwrap().push(scope.clone());
        Ok((self.rows.clone(), Figures::default()))
    }
    fn listing_sales(
        &self,
        _: Option<&str>,
        _: i32,
        _: DateTime<Utc>,
        scope: &Scope,
    ) -> Result<Vec<ListingSales>, Unknown> {
        self.asked.lock().unwrap().push(scope.clone());
        Ok(vec![sales(500, 0), sales(500, 400)])
    }
    fn smc_staffed(&self, user: UserId) -> Result<Vec<OrgId>, Unknown> {
        Ok(self
            .smc
            .lock()
            .unwrap()
            .iter()
            .filter(|(u, _)| *u == user)
            .map(|(_, o)| *o)
            .collect())
    }
}

fn org(orgs: &MemoryOrgs, kind: OrgKind, parent: Option<OrgId>) -> OrgId {
    let id = OrgId::new();
    let now = Utc::now();
    orgs.orgs.lock().unwrap().insert(
        id,
        Organization {
            id,
            kind,
            name: format!("{kind}"),
            credit_code: CreditCode::parse("93220106MA0Y3XXX0T").unwrap(),
            region_code: RegionCode::parse("220106").unwrap(),
            parent_id: parent,
            contact_email: "x@example.com".into(),
            additional_vote_basis: AdditionalVoteBasis::None,
            pickup_fee: Fen(0),
            created_at: now,
            updated_at: now,
        },
    );
    id
}

#[test]
fn smc_staff_see_their_subtree_others_nothing() {
    let orgs = Arc::new(MemoryOrgs::default());
    let province = org(&orgs, OrgKind::SupplyMarketingCoop, None);
    let grassroots = org(&orgs, OrgKind::GrassrootsCoop, Some(province));
    let elsewhere = org(&orgs, OrgKind::SupplyMarketingCoop, None);
    let staff = UserId::new();
    let store = Arc::new(FakeSales {
        rows: vec![
            (
                "220106".into(),
                String::new(),
                Figures {
                    gross: Fen(5),
                    ..Figures::default()
                },
            ),
            (
                "110105".into(),
                String::new(),
                Figures {
                    gross: Fen(9),
                    ..Figures::default()
                },
            ),
        ],
        ..FakeSales::default()
    });
    store.smc.lock().unwrap().push((staff, province));
    let service = StatsService {
        store: store.clone(),
        orgs,
        alert_rule: AlertRule {
            min_stock: 100,
            threshold_bp: 1000,
        },
        seal_margin: Duration::minutes(5),
    };
    let smc = Viewer {
        user: staff,
        platform_admin: false,
    };
    let admin = Viewer {
        user: UserId::new(),
        platform_admin: true,
    };
    let buyer = Viewer {
        user: UserId::new(),
        platform_admin: false,
    };
    let period = Period::new(date(2026, 11, 1), date(2026, 11, 30)).unwrap();

    assert_eq!(service.scope(&admin, None).unwrap(), Scope::All);
    assert_eq!(
        service.scope(&smc, None).unwrap(),
        Scope::Subtrees(vec![province])
    );
    assert_eq!(
        service.scope(&smc, Some(grassroots)).unwrap(),
        Scope::Subtrees(vec![grassroots])
    );
    assert!(matches!(
        service.scope(&smc, Some(elsewhere)),
        Err(StatsError::NotFound)
    ));
    assert!(matches!(
        service.scope(&smc, Some(OrgId::new())),
        Err(StatsError::NotFound)
    ));
    assert!(matches!(
        service.scope(&buyer, None),
        Err(StatsError::Forbidden)
    ));
    assert!(matches!(
        service.sales(&buyer, None, &period, GroupBy::Seller),
        Err(StatsError::Forbidden)
    ));
    assert!(matches!(
        service.scope(&admin, Some(OrgId::new())),
        Err(StatsError::NotFound)
    ));

    // regions are named by the domain, largest gross first
    let report = service.sales(&smc, None, &period, GroupBy::Region).unwrap();
    assert_eq!(report.items[0].key, "110105");
    assert!(
        report.items[1].label.contains("绿园区"),
        "{}",
        report.items[1].label
    );
    let alerts = service
        .unsalable(&smc, None, Some("22"), Utc::now())
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(matches!(
        service.unsalable(&smc, None, Some("2x"), Utc::now()),
        Err(StatsError::Validation(_))
    ));
    assert!(store
        .asked
        .lock()
        .unwrap()
        .iter()
        .all(|s| *s == Scope::Subtrees(vec![province])));
}
