//! The engine agrees with the literal rules (the brute-force engine) on a
//! generated catalog: same hits in the same order, same facet counts, same
//! pages, for every sort, with and without filters.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use domain::catalog::{CategoryId, CertKind, Grade, ListingId, SaleMode};
use domain::coop::OrgId;
use domain::search::analysis::analyze_query;
use domain::search::memory::BruteForceIndex;
use domain::search::*;

use super::TantivyIndex;

const WORDS: &[&str] = &[
    "甜瓜",
    "西瓜",
    "哈密瓜",
    "苹果",
    "马铃薯",
    "土豆",
    "吉林",
    "新疆",
    "礼盒",
    "羊角蜜",
    "5kg",
    "Fuji",
    "有机",
    "大米",
    "合心",
    "Organic",
];

fn pick<T: Copy>(seed: &mut u64, from: &[T]) -> T {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    from[((*seed >> 33) as usize) % from.len()]
}

fn catalog(n: usize) -> Vec<SearchDoc> {
    let cats: Vec<CategoryId> = (1..=4)
        .map(|i| CategoryId(uuid::Uuid::from_u128(i)))
        .collect();
    let mut seed = 7u64;
    (0..n)
        .map(|i| {
            let mut title = String::new();
            for _ in 0..(1 + i % 3) {
                title.push_str(pick(&mut seed, WORDS));
                if pick(&mut seed, &[true, false]) {
                    title.push(' ');
                }
            }
            let cat = pick(&mut seed, &cats);
            SearchDoc {
                id: ListingId(uuid::Uuid::from_u128(10_000 + i as u128)),
                seller_id: OrgId(uuid::Uuid::from_u128(pick(&mut seed, &[1u128, 2, 3]))),
                title: title.trim().to_owned(),
                variety: pick(&mut seed, &["", "羊角蜜", "富士", "早熟"]).to_owned(),
                description: pick(&mut seed, &["", "产地直发甜瓜", "新鲜土豆", "好吃"]).to_owned(),
                category_path: if cat.0.as_u128() > 2 {
                    vec![cat, cats[0]]
                } else {
                    vec![cat]
                },
                category_names: vec![pick(&mut seed, &["瓜类", "水果", "蔬菜"]).to_owned()],
                region_code: pick(&mut seed, &["220106", "650105", "110105"]).to_owned(),
                certifications: match i % 4 {
                    0 => vec![CertKind::Green],
                    1 => vec![CertKind::Green, CertKind::Organic],
                    _ => vec![],
                },
                grade: pick(&mut seed, Grade::ALL),
                sale_mode: pick(&mut seed, SaleMode::ALL),
                price_fen: pick(&mut seed, &[500i64, 1000, 1500, 3000]),
                sold_qty: pick(&mut seed, &[0i64, 0, 3, 10]),
                created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                    + Duration::minutes((i % 97) as i64),
            }
        })
        .collect()
}

fn engines(docs: &[SearchDoc]) -> (TantivyIndex, BruteForceIndex) {
    let t = TantivyIndex::new().unwrap();
    let mut w = t.writer(1).unwrap();
    let b = BruteForceIndex::default();
    for (i, d) in docs.iter().enumerate() {
        t.stage(&w, d.id, Some(d)).unwrap();
        b.put(d.clone());
        if i % 50 == 49 {
            t.publish(&mut w).unwrap(); // several segments
        }
    }
    t.publish(&mut w).unwrap();
    (t, b)
}

fn synonyms() -> Synonyms {
    Synonyms::parse(vec![
        vec!["土豆".into(), "马铃薯".into()],
        vec!["甜瓜".into(), "香瓜".into()],
    ])
    .unwrap()
}

#[test]
fn the_engine_agrees_with_the_rules() {
    let docs = catalog(240);
    let (t, b) = engines(&docs);
    let syn = synonyms();
    let queries = [
        "",
        "甜瓜",
        "瓜",
        "香瓜",
        "土豆",
        "马铃薯",
        "tudou",
        "tiangua",
        "tg",
        "tianguo",
        "tiangau",
        "吉林甜瓜",
        "吉林 甜瓜",
        "羊角蜜",
        "角蜜",
        "5kg",
        "fuji",
        "FUJI 苹果",
        "pingguo",
        "pg",
        "hmg",
        "新疆哈密瓜",
        "有机大米",
        "水果",
        "好吃",
        "西瓜礼盒",
        "不存在",
        "jilin",
        "jilim",
        "qilin",
        "xinjiang",
        "xinjaing",
        "organic",
        "rgani",
        "ganic",
        "organi 甜瓜",
    ];
    let filters = [
        SearchFilters::default(),
        SearchFilters {
            category: Some(CategoryId(uuid::Uuid::from_u128(1))),
            ..Default::default()
        },
        SearchFilters {
            region_prefix: Some("22".into()),
            certification: Some(CertKind::Green),
            ..Default::default()
        },
        SearchFilters {
            min_price_fen: Some(1000),
            max_price_fen: Some(1500),
            grade: Some(Grade::Premium),
            ..Default::default()
        },
        SearchFilters {
            seller_id: Some(OrgId(uuid::Uuid::from_u128(2))),
            sale_mode: Some(SaleMode::Presale),
            ..Default::default()
        },
    ];
    let mut compared = 0;
    for q in queries {
        for f in &filters {
            for sort in SearchSort::ALL {
                let query = EngineQuery {
                    text: analyze_query(q, &syn),
                    filters: f.clone(),
                    sort: *sort,
                    after: None,
                    limit: 1000,
                    facets: FacetName::ALL.to_vec(),
                };
                let want = b.search(&query).unwrap();
                let got = t.search(&query).unwrap();
                assert_eq!(got.hits, want.hits, "{q:?} {f:?} {sort:?}");
                assert_eq!(got.facets, want.facets, "{q:?} {f:?}");
                compared += want.hits.len();
                // a short first page with facets: the page stops early in
                // sales order while the facets still count every match
                let short = t
                    .search(&EngineQuery {
                        limit: 7,
                        ..query.clone()
                    })
                    .unwrap();
                let first: Vec<Hit> = want.hits.iter().take(7).copied().collect();
                assert_eq!(short.hits, first, "first page of {q:?} {f:?} {sort:?}");
                assert_eq!(short.facets, want.facets, "facets of a page of {q:?} {f:?}");
                // pages of 7 walk the same list
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let page = t
                        .search(&EngineQuery {
                            after,
                            limit: 7,
                            facets: vec![],
                            ..query.clone()
                        })
                        .unwrap();
                    walked.extend(page.hits.iter().copied());
                    if !page.more {
                        break;
                    }
                    after = page.hits.last().map(|h| h.key);
                }
                assert_eq!(walked, want.hits, "pages of {q:?} {sort:?}");
            }
        }
    }
    assert!(compared > 5_000, "the fixture finds little: {compared}");
}

#[test]
fn removal_replacement_and_suggestions_are_live() {
    let docs = catalog(120);
    let (t, b) = engines(&docs);
    let mut w = t.writer(1).unwrap();
    for d in docs.iter().step_by(3) {
        t.stage(&w, d.id, None).unwrap();
        b.remove(d.id);
    }
    let mut renamed = docs[1].clone();
    renamed.title = "长白山人参".into();
    t.stage(&w, renamed.id, Some(&renamed)).unwrap();
    b.put(renamed);
    t.publish(&mut w).unwrap();
    let syn = synonyms();
    for q in ["甜瓜", "人参", "rs", "tudou", ""] {
        let query = EngineQuery {
            text: analyze_query(q, &syn),
            filters: SearchFilters::default(),
            sort: SearchSort::Relevance,
            after: None,
            limit: 1000,
            facets: vec![FacetName::Category],
        };
        assert_eq!(t.search(&query).unwrap(), b.search(&query).unwrap(), "{q}");
    }
    for prefix in ["甜", "tian", "tg", "人", "rens", "ma", "x", "hm"] {
        assert_eq!(
            t.suggest(prefix, 10).unwrap(),
            b.suggest(prefix, 10).unwrap(),
            "{prefix}"
        );
    }
    assert!(!t.suggest("ren", 10).unwrap().is_empty());
    let _ = Arc::new(t);
}
