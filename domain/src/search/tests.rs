//! Search rules through the brute-force engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::analysis::*;
use super::memory::BruteForceIndex;
use super::*;
use crate::catalog::{CategoryId, CertKind, Grade, ListingId, SaleMode};
use crate::coop::{OrgId, Viewer};
use crate::identity::UserId;

#[derive(Default)]
struct MemSynonyms(Mutex<(i64, Vec<Vec<String>>)>);

impl SynonymStore for MemSynonyms {
    fn load(&self) -> Result<(i64, Vec<Vec<String>>), Unknown> {
        Ok(self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone())
    }
    fn replace(&self, groups: &[Vec<String>]) -> Result<i64, Unknown> {
        let mut g = self.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        *g = (g.0 + 1, groups.to_vec());
        Ok(g.0)
    }
}

fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
    g.iter()
        .map(|t| t.iter().map(|s| s.to_string()).collect())
        .collect()
}

fn fruit() -> CategoryId {
    CategoryId(uuid::Uuid::from_u128(1))
}
fn melon() -> CategoryId {
    CategoryId(uuid::Uuid::from_u128(2))
}
fn veg() -> CategoryId {
    CategoryId(uuid::Uuid::from_u128(3))
}

fn doc(n: u128, title: &str, variety: &str, desc: &str, sold: i64) -> SearchDoc {
    SearchDoc {
        id: ListingId(uuid::Uuid::from_u128(1000 + n)),
        seller_id: OrgId(uuid::Uuid::from_u128(50)),
        title: title.into(),
        variety: variety.into(),
        description: desc.into(),
        category_path: vec![melon(), fruit()],
        category_names: vec!["瓜类".into(), "水果".into()],
        region_code: "220106".into(),
        certifications: vec![],
        grade: Grade::Ungraded,
        sale_mode: SaleMode::Spot,
        price_fen: 1000,
        sold_qty: sold,
        created_at: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
            + Duration::minutes(n as i64),
    }
}

fn service(docs: Vec<SearchDoc>) -> (SearchService, Arc<BruteForceIndex>) {
    let index = Arc::new(BruteForceIndex::default());
    for d in docs {
        index.put(d);
    }
    let store = Arc::new(MemSynonyms::default());
    let names = HashMap::from([
        (fruit(), "水果".to_owned()),
        (melon(), "瓜类".to_owned()),
        (veg(), "蔬菜".to_owned()),
    ]);
    let s = SearchService::new(index.clone(), store, Arc::new(names));
    let admin = Viewer {
        user: UserId::new(),
        platform_admin: true,
    };
    s.replace_synonyms(
        &admin,
        groups(&[
            &["土豆", "马铃薯", "洋芋"],
            &["西红柿", "番茄"],
            &["红薯", "地瓜", "番薯"],
        ]),
    )
    .unwrap();
    (s, index)
}

fn titles(s: &SearchService, req: SearchRequest) -> Vec<String> {
    let page = s.search(&req).unwrap();
    TITLES.with(|t| {
        let t = t.borrow();
        page.hits.iter().map(|h| t[&h.id].clone()).collect()
    })
}

thread_local! {
    static TITLES: std::cell::RefCell<HashMap<ListingId, String>> = std::cell::RefCell::new(HashMap::new());
}

fn catalog(docs: Vec<SearchDoc>) -> SearchService {
    TITLES.with(|t| {
        let mut t = t.borrow_mut();
        for d in &docs {
            t.insert(d.id, d.title.clone());
        }
    });
    service(docs).0
}

fn q(text: &str) -> SearchRequest {
    SearchRequest {
        q: Some(text.into()),
        limit: 50,
        ..Default::default()
    }
}

#[test]
fn relevance_tiers_then_sales_then_newest() {
    let s = catalog(vec![
        doc(1, "新鲜水果礼盒", "", "内含甜瓜两个", 900),
        doc(2, "吉林甜瓜 5kg", "", "", 10),
        doc(3, "合心农场", "甜瓜", "", 500),
        doc(4, "甜瓜", "", "", 0),
        doc(5, "羊角蜜甜瓜", "", "", 10),
        doc(6, "苹果", "", "", 1000),
    ]);
    assert_eq!(
        titles(&s, q("甜瓜")),
        [
            "甜瓜",
            "羊角蜜甜瓜",
            "吉林甜瓜 5kg",
            "合心农场",
            "新鲜水果礼盒"
        ],
        "exact, title (sales 10/10: newer first), variety, description"
    );
    // two words: both must be found; all in title beats split over fields
    let s = catalog(vec![
        doc(1, "吉林 甜瓜", "", "", 0),
        doc(2, "甜瓜", "吉林", "", 5),
        doc(3, "吉林大米", "", "", 9),
    ]);
    assert_eq!(titles(&s, q("吉林甜瓜")), ["吉林 甜瓜", "甜瓜"]);
    assert_eq!(titles(&s, q("吉林 甜瓜")), ["吉林 甜瓜", "甜瓜"]);
}

#[test]
fn substring_recall_of_the_bigrams_is_kept() {
    let s = catalog(vec![
        doc(1, "合心甜瓜 5kg箱", "羊角蜜", "", 0),
        doc(2, "新疆哈密瓜", "", "", 0),
    ]);
    for query in ["甜瓜", "羊角蜜", "角蜜", "心甜", "5kg", "KG", "瓜"] {
        assert!(
            titles(&s, q(query)).contains(&"合心甜瓜 5kg箱".to_owned()),
            "{query}"
        );
    }
    assert_eq!(titles(&s, q("西瓜")), Vec::<String>::new());
    assert_eq!(titles(&s, q("100%")), Vec::<String>::new());
}

#[test]
fn synonyms_work_both_ways_and_by_pinyin() {
    let s = catalog(vec![
        doc(1, "坝上马铃薯", "", "", 0),
        doc(2, "黄心土豆", "", "", 0),
        doc(3, "定西洋芋", "", "", 0),
        doc(4, "普罗旺斯番茄", "", "", 0),
    ]);
    for query in ["土豆", "马铃薯", "洋芋", "tudou", "malingshu"] {
        let mut got = titles(&s, q(query));
        got.sort();
        assert_eq!(got, ["坝上马铃薯", "定西洋芋", "黄心土豆"], "{query}");
    }
    assert_eq!(titles(&s, q("西红柿")), ["普罗旺斯番茄"]);
    assert_eq!(
        titles(&s, q("土豆丝")),
        Vec::<String>::new(),
        "丝 is still required"
    );
}

#[test]
fn pinyin_initials_and_one_typo() {
    let s = catalog(vec![
        doc(1, "吉林甜瓜", "", "", 0),
        doc(2, "新疆西瓜", "", "", 0),
        doc(3, "麒麟瓜", "", "", 0),
    ]);
    assert_eq!(titles(&s, q("tiangua")), ["吉林甜瓜"]);
    assert_eq!(titles(&s, q("tg")), ["吉林甜瓜"]);
    assert_eq!(titles(&s, q("xg")), ["新疆西瓜"]);
    assert_eq!(titles(&s, q("tiangau")), ["吉林甜瓜"], "a swap");
    assert_eq!(titles(&s, q("tiangu")), ["吉林甜瓜"], "a letter missing");
    assert_eq!(titles(&s, q("tianguaa")), ["吉林甜瓜"], "a letter more");
    assert_eq!(titles(&s, q("tiengua")), ["吉林甜瓜"], "a wrong letter");
    assert_eq!(titles(&s, q("tienguo")), Vec::<String>::new(), "two typos");
    assert_eq!(
        titles(&s, q("tx")),
        Vec::<String>::new(),
        "no typo on short words"
    );
    assert_eq!(titles(&s, q("jilin tiangua")), ["吉林甜瓜"]);
    assert_eq!(
        titles(&s, q("qilin")),
        ["麒麟瓜"],
        "a word someone spells exactly is not a typo"
    );
    assert_eq!(titles(&s, q("qilinn")), ["麒麟瓜"]);
}

#[test]
fn facets_count_every_match_under_the_filters() {
    let mut a = doc(1, "甜瓜 A", "", "", 0);
    a.certifications = vec![CertKind::Green, CertKind::Organic];
    a.grade = Grade::Premium;
    let mut b = doc(2, "甜瓜 B", "", "", 0);
    b.region_code = "650105".into();
    b.certifications = vec![CertKind::Green];
    let mut c = doc(3, "甜瓜 C", "", "", 0);
    c.category_path = vec![veg()];
    c.sale_mode = SaleMode::Presale;
    let d = doc(4, "苹果", "", "", 0);
    let s = catalog(vec![a, b, c, d]);
    let mut req = q("甜瓜");
    req.facets = Some("category,region,certification,grade,sale_mode".into());
    req.limit = 1;
    let page = s.search(&req).unwrap();
    assert_eq!(page.hits.len(), 1, "facets ignore the page size");
    let get = |f: FacetName| {
        page.facets
            .iter()
            .find(|(n, _)| *n == f)
            .map(|(_, v)| {
                v.iter()
                    .map(|v| (v.label.clone(), v.count))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        get(FacetName::Category),
        [("瓜类".to_owned(), 2), ("蔬菜".to_owned(), 1)]
    );
    assert_eq!(
        get(FacetName::Region),
        [("吉林省".to_owned(), 2), ("新疆维吾尔自治区".to_owned(), 1)]
    );
    assert_eq!(
        get(FacetName::Certification),
        [("绿色食品".to_owned(), 2), ("有机产品".to_owned(), 1)]
    );
    assert_eq!(
        get(FacetName::Grade),
        [("统货".to_owned(), 2), ("特级".to_owned(), 1)]
    );
    assert_eq!(
        get(FacetName::SaleMode),
        [("现货".to_owned(), 2), ("预售".to_owned(), 1)]
    );
    // a filter narrows the counts too
    req.certification = Some("green".into());
    let page = s.search(&req).unwrap();
    let region = &page.facets.iter().find(|(n, _)| *n == FacetName::Region);
    assert_eq!(region.map(|(_, v)| v.len()), Some(2));
    assert_eq!(page.hits.len(), 1);
}

#[test]
fn keyset_pages_cover_every_match_once_even_when_listings_arrive() {
    let docs: Vec<SearchDoc> = (0..23)
        .map(|n| doc(n, &format!("甜瓜{}", n % 4), "", "", (n as i64 * 7) % 5))
        .collect();
    let (s, index) = service(docs);
    let mut seen = Vec::new();
    let mut after = None;
    for round in 0.. {
        let mut req = q("甜瓜");
        req.limit = 4;
        req.after = after;
        let page = s.search(&req).unwrap();
        seen.extend(page.hits.iter().map(|h| h.id));
        if round == 1 {
            // a better match arrives between pages: not shown on later pages
            index.put(doc(99, "甜瓜", "", "", 1_000));
        }
        if !page.more {
            break;
        }
        after = page.hits.last().map(|h| h.key);
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((n, seen.len()), (23, 23));
}

#[test]
fn suggestions_complete_chinese_pinyin_and_initials() {
    let (s, _) = service(vec![
        doc(1, "吉林甜瓜", "", "", 0),
        doc(2, "甜瓜礼盒", "", "", 0),
        doc(3, "甜玉米", "", "", 0),
    ]);
    let texts = |p: &str| {
        s.suggest(p)
            .map(|v| v.into_iter().map(|s| (s.text, s.count)).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(texts("甜")[0], ("甜瓜".to_owned(), 2));
    assert_eq!(texts("tg")[0], ("甜瓜".to_owned(), 2));
    assert_eq!(texts("tiang")[0], ("甜瓜".to_owned(), 2));
    assert!(texts("tiany").iter().any(|(t, _)| t == "甜玉米"));
    assert!(matches!(s.suggest(""), Err(SearchError::Validation(_))));
}

#[test]
fn requests_are_checked_and_synonyms_belong_to_admins() {
    let (s, _) = service(vec![]);
    let mut req = q("甜瓜");
    req.sort = Some("random".into());
    req.facets = Some("category,colour".into());
    req.grade = Some("best".into());
    let Err(SearchError::Validation(v)) = s.search(&req) else {
        panic!("expected a validation error");
    };
    let text = format!("{v:?}");
    for f in ["sort", "facets", "grade"] {
        assert!(text.contains(f), "{f}: {text}");
    }
    let buyer = Viewer {
        user: UserId::new(),
        platform_admin: false,
    };
    assert!(matches!(
        s.replace_synonyms(&buyer, groups(&[&["玉米", "苞米"]])),
        Err(SearchError::Forbidden)
    ));
    let admin = Viewer {
        user: UserId::new(),
        platform_admin: true,
    };
    for bad in [
        groups(&[&["玉米"]]),
        groups(&[&["玉米", "苞米"], &["苞米", "苞谷"]]),
        groups(&[&["玉米", "corn"]]),
    ] {
        assert!(
            matches!(
                s.replace_synonyms(&admin, bad.clone()),
                Err(SearchError::Validation(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        s.synonyms().map_err(|e| e.to_string()).map(|g| g.len()),
        Ok(3),
        "refused replacements changed nothing"
    );
}

proptest! {
    /// The production engine finds a word by the phrase of its grams; that
    /// is exactly "a substring of one segment".
    #[test]
    fn gram_phrases_are_substrings(
        text in "[瓜甜西a-c1 ,]{0,14}",
        word in "[瓜甜西a-c1]{1,8}",
    ) {
        let grams = grams(&[&text]);
        let wanted = word_grams(&word);
        let (o0, g0) = &wanted[0];
        let found = grams.iter().any(|(p0, g)| {
            g == g0
                && wanted.iter().all(|(o, w)| {
                    grams.iter().any(|(p, t)| p + o0 == p0 + o && t == w)
                })
        });
        prop_assert_eq!(found, contains_word(&normalize(&text), &word));
    }

    #[test]
    fn one_typo_is_symmetric_and_bounded(a in "[a-d]{0,7}", b in "[a-d]{0,7}") {
        prop_assert_eq!(within_one_typo(&a, &b), within_one_typo(&b, &a));
        if within_one_typo(&a, &b) {
            prop_assert!(a.len().abs_diff(b.len()) <= 1);
        }
    }
}
