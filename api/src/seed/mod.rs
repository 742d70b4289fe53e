//! Demo data for `scripts/dev run`, loaded idempotently (running it twice
//! changes nothing), and bulk listings for benchmarks.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use domain::catalog::{
    CertKind, Certification, Grade, ListingFields, ListingStatus, SaleTerms, Storage, TierPrice,
};
use domain::coop::{CoopError, CreateOrgInput, CreditCode, OrgId, Viewer};
use domain::delivery::{Rate, RegionRule, TemplateInput};
use domain::identity::{RegisterError, RegisterInput, RequestMeta, UserId};
use domain::money::Fen;
use domain::region::RegionCode;

use crate::state::AppState;

mod trace;
use trace::demo_trace;

/// Demo accounts: (email, password, display name).
pub const DEMO_USERS: [(&str, &str, &str); 4] = [
    ("buyer@coopmart.local", "Harvest-Melon-2026", "王芳"),
    ("coop-admin@coopmart.local", "Golden-Rice-2026", "李合心"),
    ("station@coopmart.local", "Village-Pickup-2026", "赵站长"),
    ("hub@coopmart.local", "Cold-Chain-Sorting-2026", "孙主任"),
];

/// (name, variety, category code, unit label, unit grams, price fen, storage, shelf life days)
const PRODUCTS: [(&str, &str, &str, &str, i32, i64, Storage, i32); 24] = [
    (
        "甜瓜",
        "羊角蜜",
        "fruit.melon",
        "5kg箱",
        5000,
        6800,
        Storage::Chilled,
        20,
    ),
    (
        "哈密瓜",
        "西州蜜25号",
        "fruit.melon",
        "2个装",
        4000,
        5900,
        Storage::Ambient,
        30,
    ),
    (
        "苹果",
        "红富士",
        "fruit.apple_pear",
        "10斤箱",
        5000,
        5800,
        Storage::Chilled,
        60,
    ),
    (
        "香梨",
        "库尔勒香梨",
        "fruit.apple_pear",
        "5kg箱",
        5000,
        6900,
        Storage::Chilled,
        60,
    ),
    (
        "脐橙",
        "赣南脐橙",
        "fruit.citrus",
        "9斤箱",
        4500,
        4990,
        Storage::Ambient,
        30,
    ),
    (
        "蓝莓",
        "蓝丰",
        "fruit.berries",
        "125g×4盒",
        500,
        5900,
        Storage::Chilled,
        10,
    ),
    (
        "大米",
        "稻花香2号",
        "grain_oil.rice",
        "10kg袋",
        10000,
        12800,
        Storage::Ambient,
        365,
    ),
    (
        "小米",
        "黄金苗",
        "grain_oil.coarse_grains",
        "2.5kg袋",
        2500,
        3900,
        Storage::Ambient,
        365,
    ),
    (
        "菜籽油",
        "压榨一级",
        "grain_oil.edible_oil",
        "5L桶",
        4600,
        8900,
        Storage::Ambient,
        540,
    ),
    (
        "黄豆",
        "东北大豆",
        "grain_oil.beans",
        "5kg袋",
        5000,
        4500,
        Storage::Ambient,
        365,
    ),
    (
        "西红柿",
        "粉果",
        "vegetables.solanaceous",
        "5斤箱",
        2500,
        2600,
        Storage::Chilled,
        10,
    ),
    (
        "土豆",
        "荷兰十五",
        "vegetables.root",
        "10斤袋",
        5000,
        1990,
        Storage::Ambient,
        60,
    ),
    (
        "大白菜",
        "秋白菜",
        "vegetables.leafy",
        "3棵",
        6000,
        1500,
        Storage::Ambient,
        20,
    ),
    (
        "大蒜",
        "紫皮蒜",
        "vegetables.allium",
        "5斤袋",
        2500,
        3500,
        Storage::Ambient,
        180,
    ),
    (
        "黑猪肉",
        "五花肉",
        "livestock_poultry.pork",
        "1kg",
        1000,
        6800,
        Storage::Frozen,
        180,
    ),
    (
        "土鸡蛋",
        "散养",
        "livestock_poultry.eggs",
        "30枚",
        1500,
        3990,
        Storage::Chilled,
        30,
    ),
    (
        "草鱼",
        "生态草鱼",
        "aquatic.freshwater_fish",
        "2.5kg条",
        2500,
        5500,
        Storage::Chilled,
        3,
    ),
    (
        "大闸蟹",
        "阳澄湖",
        "aquatic.shrimp_crab",
        "8只礼盒",
        2000,
        39800,
        Storage::Chilled,
        5,
    ),
    (
        "龙井茶",
        "龙井43",
        "tea.green_tea",
        "250g罐",
        250,
        29800,
        Storage::Ambient,
        540,
    ),
    (
        "红茶",
        "滇红",
        "tea.black_tea",
        "200g盒",
        200,
        12800,
        Storage::Ambient,
        720,
    ),
    (
        "香菇",
        "花菇",
        "fungi.shiitake",
        "500g袋",
        500,
        4800,
        Storage::Ambient,
        365,
    ),
    (
        "黑木耳",
        "东北秋耳",
        "fungi.wood_ear",
        "250g袋",
        250,
        3900,
        Storage::Ambient,
        540,
    ),
    (
        "有机肥",
        "生物有机肥",
        "farm_inputs.fertilizer",
        "40kg袋",
        40000,
        6500,
        Storage::Ambient,
        720,
    ),
    (
        "玉米种子",
        "郑单958",
        "farm_inputs.seeds",
        "5kg袋",
        5000,
        9800,
        Storage::Ambient,
        365,
    ),
];

const REGIONS: [&str; 20] = [
    "220106", "650105", "330106", "230102", "370211", "530102", "610113", "350102", "430102",
    "510107", "130102", "410105", "640104", "450102", "520102", "620102", "150102", "420106",
    "360102", "340102",
];

fn code(body: &str) -> anyhow::Result<String> {
    let check = CreditCode::check_char(body)
        .ok_or_else(|| anyhow::anyhow!("bad credit code body {body}"))?;
    Ok(format!("{body}{check}"))
}

/// `n` realistic listings (Chinese produce names, real counties, some
/// certified, a few presales and group buys), deterministic in `offset`.
pub fn generate_listings(
    state: &AppState,
    n: usize,
    offset: usize,
) -> anyhow::Result<Vec<ListingFields>> {
    let categories = state
        .catalog
        .categories()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let today = Utc::now().date_naive();
    let mut out = Vec::with_capacity(n);
    for i in offset..offset + n {
        let (name, variety, cat, unit, grams, price, storage, shelf) = PRODUCTS[i % PRODUCTS.len()];
        let region = RegionCode::parse(REGIONS[(i / PRODUCTS.len()) % REGIONS.len()])
            .map_err(|e| anyhow::anyhow!(e))?;
        let city = region
            .display_name()
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .trim_end_matches('市')
            .to_owned();
        let category = categories
            .iter()
            .find(|c| c.code == cat)
            .ok_or_else(|| anyhow::anyhow!("category {cat} missing"))?
            .id;
        let price = price + i64::try_from(i % 7).unwrap_or(0) * 100;
        let certifications = match i % 5 {
            0 => vec![Certification {
                kind: CertKind::Green,
                cert_no: format!("LB-18-{:07}", 1_800_000 + i),
                valid_until: NaiveDate::from_ymd_opt(today.year() + 2, 12, 31).unwrap_or(today),
            }],
            1 => vec![Certification {
                kind: CertKind::GeographicIndication,
                cert_no: format!("AGI{:05}", i % 100_000),
                valid_until: NaiveDate::from_ymd_opt(today.year() + 3, 6, 30).unwrap_or(today),
            }],
            2 if i % 3 == 0 => vec![Certification {
                kind: CertKind::Organic,
                cert_no: format!("OC-{:06}", i % 1_000_000),
                valid_until: NaiveDate::from_ymd_opt(today.year() + 1, 12, 31).unwrap_or(today),
            }],
            _ => Vec::new(),
        };
        let sale = match i % 17 {
            3 => SaleTerms::Presale {
                ship_from: today + Duration::days(30),
            },
            11 => SaleTerms::GroupBuy {
                target_qty: 200,
                deadline: Utc::now() + Duration::days(10),
            },
            _ => SaleTerms::Spot,
        };
        out.push(ListingFields {
            supplier_member_id: None,
            freight_template_id: None,
            title: format!("{city}{name} {unit}"),
            description: format!("{city}产地直发，{variety}，新鲜采摘。"),
            category_id: category,
            variety: variety.to_owned(),
            grade: [
                Grade::Premium,
                Grade::Grade1,
                Grade::Grade2,
                Grade::Ungraded,
            ][i % 4],
            unit_label: unit.to_owned(),
            unit_weight_grams: grams,
            price: Fen(price),
            tier_prices: vec![
                TierPrice {
                    min_qty: 10,
                    price_fen: price * 92 / 100,
                },
                TierPrice {
                    min_qty: 50,
                    price_fen: price * 85 / 100,
                },
            ],
            min_order_qty: 1,
            stock: i32::try_from(50 + (i * 37) % 950).unwrap_or(100),
            origin_region_code: region,
            harvest_date: Some(today - Duration::days(i64::try_from(i % 20).unwrap_or(0))),
            shelf_life_days: Some(shelf),
            storage,
            certifications,
            trace_batch_code: None,
            images: vec![format!(
                "https://img.coopmart.local/listings/{}.jpg",
                i % 500
            )],
            sale,
        });
    }
    Ok(out)
}

fn ensure_user(
    state: &AppState,
    email: &str,
    password: &str,
    name: &str,
) -> anyhow::Result<UserId> {
    let input = RegisterInput {
        email: Some(email.to_owned()),
        phone: None,
        password: password.to_owned(),
        display_name: Some(name.to_owned()),
    };
    match state.identity.register(&input, &RequestMeta::default()) {
        Ok(u) => Ok(u.id),
        Err(RegisterError::Duplicate) => state
            .identity
            .users
            .find_by_login(email)?
            .map(|c| c.user.id)
            .ok_or_else(|| anyhow::anyhow!("{email} vanished")),
        Err(e) => Err(anyhow::anyhow!("seeding {email}: {e}")),
    }
}

/// Creates an organization unless its credit code exists; `None` when it did.
fn ensure_org(
    state: &AppState,
    owner: &Viewer,
    kind: &str,
    name: &str,
    body: &str,
    region: &str,
    parent: Option<OrgId>,
) -> anyhow::Result<Option<OrgId>> {
    let input = CreateOrgInput {
        kind: kind.to_owned(),
        name: name.to_owned(),
        credit_code: code(body)?,
        region_code: region.to_owned(),
        parent_id: parent,
        contact_email: "demo@coopmart.local".to_owned(),
        additional_vote_basis: Some("capital".to_owned()),
        pickup_fee_fen: None,
    };
    match state
        .coop
        .create_org(owner, &input, &RequestMeta::default())
    {
        Ok(o) => Ok(Some(o.id)),
        Err(CoopError::Conflict { .. }) => Ok(None),
        Err(e) => Err(anyhow::anyhow!("seeding {name}: {e}")),
    }
}

/// A coop's default freight template: its own province ships free up to
/// 5 kg, elsewhere ¥10 for the first kg and ¥5 per further kg, orders of
/// ¥199 ship free, Tibet is not served (Xinjiang neither, except from
/// Xinjiang), chilled and frozen produce adds ¥8.
fn default_template(
    state: &AppState,
    owner: &Viewer,
    org: OrgId,
    region: &str,
) -> anyhow::Result<()> {
    let province = region.get(..2).unwrap_or("22").to_owned();
    let mut refused = vec!["54".to_owned()];
    if province != "65" {
        refused.push("65".to_owned());
    }
    let rate = |first_unit, first_fen, additional_fen| Rate {
        first_unit,
        first_fen,
        additional_unit: 1000,
        additional_fen,
    };
    let input = TemplateInput {
        name: "省内包邮".to_owned(),
        mode: "weight".to_owned(),
        is_default: true,
        rules: vec![RegionRule {
            regions: vec![province],
            rate: rate(5000, 0, 100),
        }],
        default_rule: Some(rate(1000, 1000, 500)),
        free_over_fen: Some(19_900),
        no_delivery_regions: refused,
        cold_chain_surcharge_fen: 800,
    };
    state
        .delivery
        .save_template(owner.user, org, None, &input, Utc::now())
        .map_err(|e| anyhow::anyhow!("seeding a freight template: {e}"))?;
    Ok(())
}

/// Demo accounts, an SMC tree, farmer cooperatives, a service station and
/// several hundred active listings.
pub fn run(state: &AppState) -> anyhow::Result<()> {
    let mut ids = Vec::new();
    for (email, password, name) in DEMO_USERS {
        ids.push(ensure_user(state, email, password, name)?);
    }
    let admin = state
        .identity
        .users
        .find_by_login(
            &state
                .settings
                .auth
                .bootstrap_admin_email
                .clone()
                .unwrap_or_default(),
        )?
        .map(|c| c.user.id);
    let coop_admin = Viewer {
        user: ids[1],
        platform_admin: false,
    };
    let mut listed = 0;
    if let Some(admin) = admin {
        let platform = Viewer {
            user: admin,
            platform_admin: true,
        };
        if let Some(smc) = ensure_org(
            state,
            &platform,
            "supply_marketing_coop",
            "吉林省供销合作社",
            "91220000DEMXHY001",
            "220102",
            None,
        )? {
            ensure_org(
                state,
                &platform,
                "grassroots_coop",
                "绿园区合心镇基层供销社",
                "91220106DEMJCA001",
                "220106",
                Some(smc),
            )?;
        }
    }
    let coops = [
        ("合心镇甜瓜专业合作社", "93220106DEMHXA001", "220106", 120),
        ("哈密瓜产销专业合作社", "93650105DEMHMA001", "650105", 100),
        ("西湖龙井茶叶专业合作社", "93330106DEMLJA001", "330106", 80),
    ];
    for (i, (name, body, region, n)) in coops.into_iter().enumerate() {
        if let Some(org) = ensure_org(state, &coop_admin, "farmer_coop", name, body, region, None)?
        {
            default_template(state, &coop_admin, org, region)?;
            let mut fields = generate_listings(state, n, i * 1000)?;
            if i == 0 {
                demo_trace(state, &coop_admin, org, &mut fields)?;
            }
            listed += state
                .catalog
                .listings
                .import(org, &fields, ListingStatus::Active)?;
        }
    }
    let station = Viewer {
        user: ids[2],
        platform_admin: false,
    };
    ensure_org(
        state,
        &station,
        "service_station",
        "合心镇村级电商服务站",
        "91220106DEMTDA001",
        "220106",
        None,
    )?;
    let hub = Viewer {
        user: ids[3],
        platform_admin: false,
    };
    ensure_org(
        state,
        &hub,
        "logistics_hub",
        "绿园区县级物流配送中心",
        "91220106DEMWLA001",
        "220106",
        None,
    )?;
    tracing::info!(listed, "demo data ready");
    Ok(())
}

/// Makes sure the benchmark seller has at least `n` active listings.
pub fn bench_listings(state: &AppState, n: usize) -> anyhow::Result<usize> {
    let owner = Viewer {
        user: ensure_user(
            state,
            "bench@coopmart.local",
            "Load-Test-Seller-2026",
            "压测卖家",
        )?,
        platform_admin: false,
    };
    let body = "91110105BENCHA001";
    let org = match ensure_org(
        state,
        &owner,
        "enterprise",
        "压测农产品公司",
        body,
        "110105",
        None,
    )? {
        Some(o) => o,
        None => state
            .coop
            .list_orgs(Some("enterprise"), Some("110105"), None, None, 1000)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .into_iter()
            .find(|o| o.credit_code.as_str() == code(body).unwrap_or_default())
            .map(|o| o.id)
            .ok_or_else(|| anyhow::anyhow!("bench seller missing"))?,
    };
    // Orders are priced with freight, as real sellers' are.
    if state.delivery.templates.list_templates(org)?.is_empty() {
        default_template(state, &owner, org, "110105")?;
    }
    let have = usize::try_from(state.catalog.listings.count_for_seller(org)?).unwrap_or(0);
    let mut written = 0;
    let mut offset = have;
    while offset < n {
        let batch = (n - offset).min(5_000);
        let fields = generate_listings(state, batch, offset)?;
        written += state
            .catalog
            .listings
            .import(org, &fields, ListingStatus::Active)?;
        offset += batch;
    }
    Ok(written)
}
