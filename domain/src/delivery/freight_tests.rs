use proptest::prelude::*;

use super::*;

fn rate(first_unit: i64, first_fen: i64, additional_unit: i64, additional_fen: i64) -> Rate {
    Rate {
        first_unit,
        first_fen,
        additional_unit,
        additional_fen,
    }
}

fn spec(rules: Vec<RegionRule>, default_rule: Option<Rate>) -> FreightSpec {
    FreightSpec {
        mode: FreightMode::Weight,
        rules,
        default_rule,
        free_over_fen: None,
        no_delivery_regions: vec![],
        cold_chain_surcharge_fen: 0,
    }
}

fn parcel(units: i64) -> Parcel {
    Parcel {
        units,
        cold_chain: false,
        items_total: Fen(100),
    }
}

#[test]
fn first_and_additional_units() {
    let r = rate(1000, 1200, 1000, 600);
    assert_eq!(r.charge(0), Some(Fen(1200)));
    assert_eq!(r.charge(1000), Some(Fen(1200)));
    // a started additional unit is charged in full
    assert_eq!(r.charge(1001), Some(Fen(1800)));
    assert_eq!(r.charge(2000), Some(Fen(1800)));
    assert_eq!(r.charge(2001), Some(Fen(2400)));
    assert_eq!(rate(1, 1, 1, i64::MAX).charge(i64::MAX), None);
}

#[test]
fn the_contract_example() {
    // 省内包邮: Jilin free up to 5 kg, Beijing/Shanghai ¥12 + ¥6/kg, elsewhere ¥15 + ¥8/kg.
    let s = FreightSpec {
        mode: FreightMode::Weight,
        rules: vec![
            RegionRule {
                regions: vec!["22".into()],
                rate: rate(5000, 0, 1000, 0),
            },
            RegionRule {
                regions: vec!["11".into(), "31".into()],
                rate: rate(1000, 1200, 1000, 600),
            },
        ],
        default_rule: Some(rate(1000, 1500, 1000, 800)),
        free_over_fen: Some(19900),
        no_delivery_regions: vec!["54".into(), "65".into()],
        cold_chain_surcharge_fen: 1500,
    };
    let p = |units, cold, total| Parcel {
        units,
        cold_chain: cold,
        items_total: Fen(total),
    };
    assert_eq!(s.charge("220106", p(5000, false, 100)), Ok(Fen(0)));
    assert_eq!(s.charge("110105", p(2500, false, 100)), Ok(Fen(2400)));
    assert_eq!(s.charge("110105", p(2500, true, 100)), Ok(Fen(3900)));
    assert_eq!(s.charge("440305", p(1000, false, 100)), Ok(Fen(1500)));
    assert_eq!(s.charge("440305", p(1000, false, 19900)), Ok(Fen(0)));
    assert_eq!(s.charge("440305", p(1000, false, 19899)), Ok(Fen(1500)));
    assert_eq!(
        s.charge("540102", p(1, false, 100_000)),
        Err(Refusal::NotDeliverable)
    );
    assert!(!s.delivers_to("650102"));
}

#[test]
fn without_a_default_only_listed_regions_are_served() {
    let s = spec(
        vec![RegionRule {
            regions: vec!["41".into()],
            rate: rate(1, 100, 1, 100),
        }],
        None,
    );
    assert_eq!(s.charge("411521", parcel(1)), Ok(Fen(100)));
    assert_eq!(s.charge("110105", parcel(1)), Err(Refusal::NotDeliverable));
}

fn valid_input() -> TemplateInput {
    TemplateInput {
        name: "省内包邮".into(),
        mode: "weight".into(),
        is_default: true,
        rules: vec![RegionRule {
            regions: vec!["22".into()],
            rate: rate(5000, 0, 1000, 0),
        }],
        default_rule: Some(rate(1000, 1500, 1000, 800)),
        free_over_fen: Some(19900),
        no_delivery_regions: vec!["54".into()],
        cold_chain_surcharge_fen: 1500,
    }
}

#[test]
fn validation_names_each_bad_field() {
    assert!(valid_input().validate().is_ok());
    let mut bad = valid_input();
    bad.name = " ".into();
    bad.mode = "volume".into();
    bad.rules.push(RegionRule {
        regions: vec!["22".into(), "2x".into(), "123".into()],
        rate: rate(0, -1, 0, MAX_FREIGHT_FEN + 1),
    });
    bad.free_over_fen = Some(0);
    bad.no_delivery_regions = vec!["22".into(), "54".into(), "54".into()];
    bad.cold_chain_surcharge_fen = -5;
    let e = bad.validate().expect_err("invalid");
    let fields: Vec<String> = e.0.iter().map(|f| f.field.clone()).collect();
    for f in [
        "name",
        "mode",
        "rules[1].regions[0]",
        "rules[1].regions[1]",
        "rules[1].regions[2]",
        "rules[1].first_unit",
        "rules[1].additional_unit",
        "rules[1].first_fen",
        "rules[1].additional_fen",
        "free_over_fen",
        "no_delivery_regions[0]",
        "no_delivery_regions[2]",
        "cold_chain_surcharge_fen",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
    }
    let mut empty = valid_input();
    empty.rules.clear();
    empty.default_rule = None;
    assert!(empty.validate().is_err());
}

fn arb_rate() -> impl Strategy<Value = Rate> {
    (1..=20_000i64, 0..=5_000i64, 1..=5_000i64, 0..=2_000i64)
        .prop_map(|(a, b, c, d)| rate(a, b, c, d))
}

fn arb_prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        (11..=65u32).prop_map(|p| format!("{p:02}")),
        (1101..=6590u32).prop_map(|p| format!("{p:04}")),
        (110_101..=659_004u32).prop_map(|p| format!("{p:06}")),
    ]
}

fn arb_region() -> impl Strategy<Value = String> {
    (110_101..=659_004u32).prop_map(|p| format!("{p:06}"))
}

fn arb_spec() -> impl Strategy<Value = FreightSpec> {
    (
        proptest::collection::vec(
            (proptest::collection::vec(arb_prefix(), 1..4), arb_rate()),
            0..5,
        ),
        proptest::option::of(arb_rate()),
        proptest::option::of(1..=50_000i64),
        proptest::collection::vec(arb_prefix(), 0..3),
        0..=3_000i64,
    )
        .prop_map(|(rules, default_rule, free, no, surcharge)| FreightSpec {
            mode: FreightMode::Weight,
            rules: rules
                .into_iter()
                .map(|(regions, rate)| RegionRule { regions, rate })
                .collect(),
            default_rule,
            free_over_fen: free,
            no_delivery_regions: no,
            cold_chain_surcharge_fen: surcharge,
        })
}

proptest! {
    #[test]
    fn freight_never_decreases_with_units(
        s in arb_spec(), region in arb_region(), a in 0..200_000i64, b in 0..200_000i64,
        cold in any::<bool>(), total in 0..60_000i64,
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        let p = |units| Parcel { units, cold_chain: cold, items_total: Fen(total) };
        match (s.charge(&region, p(lo)), s.charge(&region, p(hi))) {
            (Ok(x), Ok(y)) => prop_assert!(x <= y, "{x:?} > {y:?} for {lo} ≤ {hi}"),
            // deliverability depends on the region only
            (x, y) => prop_assert_eq!(x, y),
        }
    }

    #[test]
    fn the_free_threshold_is_exact_to_the_fen(
        r in arb_rate(), free in 1..=100_000i64, units in 0..100_000i64, cold in any::<bool>(),
        surcharge in 0..3_000i64,
    ) {
        let mut s = spec(vec![], Some(r));
        s.free_over_fen = Some(free);
        s.cold_chain_surcharge_fen = surcharge;
        let p = |total| Parcel { units, cold_chain: cold, items_total: Fen(total) };
        prop_assert_eq!(s.charge("110105", p(free)), Ok(Fen::ZERO));
        prop_assert_eq!(s.charge("110105", p(free + 1)), Ok(Fen::ZERO));
        let full = r.charge(units).map(|f| f + if cold { Fen(surcharge) } else { Fen::ZERO });
        prop_assert_eq!(s.charge("110105", p(free - 1)).ok(), full);
    }

    #[test]
    fn the_longest_region_prefix_wins(
        region in arb_region(), short in arb_rate(), long in arb_rate(), county in arb_rate(),
        default_rule in proptest::option::of(arb_rate()), order in any::<bool>(),
    ) {
        let rules = vec![
            RegionRule { regions: vec![region[..2].to_owned()], rate: short },
            RegionRule { regions: vec![region[..4].to_owned()], rate: long },
        ];
        let mut s = spec(if order { rules } else { rules.into_iter().rev().collect() }, default_rule);
        prop_assert_eq!(s.rate_for(&region), Some(long));
        // a sibling city of the same province falls back to the province
        let sibling = format!("{}{}", &region[..2], if &region[2..4] == "99" { "98" } else { "99" });
        prop_assert_eq!(s.rate_for(&format!("{sibling}01")), Some(short));
        s.rules.push(RegionRule { regions: vec![region.clone()], rate: county });
        prop_assert_eq!(s.rate_for(&region), Some(county));
    }

    #[test]
    fn a_no_delivery_region_is_always_refused(
        mut s in arb_spec(), region in arb_region(), len in prop_oneof![Just(2usize), Just(4), Just(6)],
        units in 0..100_000i64, total in 0..100_000i64, cold in any::<bool>(),
    ) {
        // even with a rule for exactly this county and a free threshold met
        s.rules.push(RegionRule { regions: vec![region.clone()], rate: rate(1, 0, 1, 0) });
        s.no_delivery_regions.push(region[..len].to_owned());
        let p = Parcel { units, cold_chain: cold, items_total: Fen(total) };
        prop_assert_eq!(s.charge(&region, p), Err(Refusal::NotDeliverable));
        prop_assert!(!s.delivers_to(&region));
    }
}
