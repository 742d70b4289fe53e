//! Trace rules and the service through in-memory adapters.

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{json, Map, Value};

use super::memory::MemoryTrace;
use super::*;
use crate::catalog::{CategoryId, ListingId, ListingStatus};
use crate::coop::memory::{MemoryOrgs, MemoryRegister};
use crate::coop::{AdditionalVoteBasis, CreditCode, OrgId, OrgKind, Organization, StaffRole};
use crate::identity::UserId;
use crate::money::Fen;
use crate::region::RegionCode;

struct World {
    service: TraceService,
    store: Arc<MemoryTrace>,
    producer: OrgId,
    staff: UserId,
    category: CategoryId,
}

fn world() -> World {
    let producer = OrgId::new();
    let staff = UserId::new();
    let orgs = Arc::new(MemoryOrgs::default());
    let now = Utc::now();
    if let (Ok(mut o), Ok(code), Ok(region)) = (
        orgs.orgs.lock(),
        CreditCode::parse("93220106MA0Y3XXX0T"),
        RegionCode::parse("220106"),
    ) {
        o.insert(
            producer,
            Organization {
                id: producer,
                kind: OrgKind::FarmerCoop,
                name: "合心镇甜瓜专业合作社".into(),
                credit_code: code,
                region_code: region,
                parent_id: None,
                contact_email: "coop@example.com".into(),
                additional_vote_basis: AdditionalVoteBasis::Capital,
                pickup_fee: Fen(0),
                created_at: now,
                updated_at: now,
            },
        );
    }
    if let Ok(mut s) = orgs.staff.lock() {
        s.push((producer, staff, StaffRole::Admin));
    }
    let store = Arc::new(MemoryTrace::default());
    let category = CategoryId::new();
    if let Ok(mut c) = store.categories.lock() {
        c.insert(category);
    }
    World {
        service: TraceService {
            store: store.clone(),
            orgs,
            members: Arc::new(MemoryRegister::default()),
        },
        store,
        producer,
        staff,
        category,
    }
}

fn batch_input(w: &World) -> BatchInput {
    BatchInput {
        producer_id: Some(w.producer),
        supplier_member_id: None,
        category_id: Some(w.category),
        variety: "羊角蜜".into(),
        region_code: "220106".into(),
        location: "合心镇岳家村3号地块".into(),
        quantity: 2000,
        unit: "kg".into(),
    }
}

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|_| Utc::now().fixed_offset())
}

fn data(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn event(t: TraceEventType, d: Value) -> EventInput {
    EventInput {
        event_type: t,
        occurred_at: at("2026-07-08T09:30:00+08:00"),
        region_code: "220106".into(),
        description: "合心镇检测站".into(),
        data: data(d),
        corrects: None,
    }
}

fn inspection(result: &str) -> EventInput {
    event(
        TraceEventType::Inspection,
        json!({"lab": "长春市农产品质量检测中心", "items": ["农药残留"], "result": result, "report_no": "R-1"}),
    )
}

fn now() -> DateTime<Utc> {
    at("2026-07-10T00:00:00Z").with_timezone(&Utc)
}

fn link(w: &World, code: &BatchCode, status: ListingStatus) -> ListingId {
    let id = ListingId::new();
    if let Ok(mut l) = w.store.listings.lock() {
        l.push((
            code.clone(),
            LinkedListing {
                id,
                title: "合心甜瓜".into(),
                status,
                certifications: Vec::new(),
            },
        ));
    }
    id
}

#[test]
fn codes_are_short_unambiguous_and_forgiving_to_type() {
    for n in [0u128, 1, 30, 31, u128::MAX, 0xDEAD_BEEF_CAFE] {
        let c = BatchCode::from_random(n);
        assert_eq!(c.as_str().len(), CODE_LEN);
        assert!(c.as_str().bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(
            BatchCode::parse(&format!(" {} ", c.as_str().to_lowercase())),
            Ok(c)
        );
    }
    for bad in [
        "",
        "ABCDEFG",
        "ABCDEFGHJ",
        "ABCDEF0H",
        "ABCDEF1H",
        "ABCDEFOH",
        "ABCDEFIH",
        "ABCDEFLH",
    ] {
        assert!(BatchCode::parse(bad).is_err(), "{bad}");
    }
    assert_ne!(BatchCode::from_random(1), BatchCode::from_random(2));
}

#[test]
fn opening_a_batch_needs_the_producers_staff_and_valid_fields() {
    let w = world();
    let b = w.service.create_batch(w.staff, &batch_input(&w), now());
    assert!(matches!(&b, Ok(b) if b.producer_id == w.producer && b.quantity == 2000));
    let stranger = w
        .service
        .create_batch(UserId::new(), &batch_input(&w), now());
    assert!(matches!(stranger, Err(TraceError::Forbidden)));
    let mut bad = batch_input(&w);
    bad.quantity = 0;
    bad.region_code = "999999".into();
    bad.variety = " ".into();
    match w.service.create_batch(w.staff, &bad, now()) {
        Err(TraceError::Validation(v)) => {
            let fields: Vec<String> = v.0.iter().map(|e| e.field.clone()).collect();
            assert!(fields.contains(&"quantity".to_owned()));
            assert!(fields.contains(&"region_code".to_owned()));
            assert!(fields.contains(&"variety".to_owned()));
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
    let mut unknown = batch_input(&w);
    unknown.category_id = Some(CategoryId::new());
    assert!(matches!(
        w.service.create_batch(w.staff, &unknown, now()),
        Err(TraceError::Validation(_))
    ));
    assert_eq!(w.store.batches.lock().map(|b| b.len()).unwrap_or(0), 1);
}

#[test]
fn a_taken_code_is_drawn_again() {
    let w = world();
    // every code is free but the first draw collides with probability ~0;
    // mark the batch's own code taken after the fact and draw again
    let first = w.service.create_batch(w.staff, &batch_input(&w), now());
    let Ok(first) = first else { panic!("batch") };
    if let Ok(mut t) = w.store.taken.lock() {
        t.insert(first.code.clone());
    }
    let second = w.service.create_batch(w.staff, &batch_input(&w), now());
    assert!(matches!(second, Ok(b) if b.code != first.code));
}

#[test]
fn events_are_numbered_checked_and_only_the_producer_records_them() {
    let w = world();
    let Ok(b) = w.service.create_batch(w.staff, &batch_input(&w), now()) else {
        panic!("batch")
    };
    let planting = w.service.record_event(
        w.staff,
        &b.code,
        &event(TraceEventType::Planting, json!({})),
        now(),
    );
    let harvest = w.service.record_event(
        w.staff,
        &b.code,
        &event(TraceEventType::Harvest, json!({"quantity_kg": 1800})),
        now(),
    );
    assert!(
        matches!((&planting, &harvest), (Ok(p), Ok(h)) if p.event.seq == 1 && h.event.seq == 2)
    );
    // the offset given is kept
    assert!(
        matches!(&planting, Ok(p) if p.event.occurred_at.offset().local_minus_utc() == 8 * 3600)
    );
    assert!(matches!(
        w.service
            .record_event(UserId::new(), &b.code, &inspection("pass"), now()),
        Err(TraceError::NotFound)
    ));
    assert!(matches!(
        w.service.record_event(
            w.staff,
            &BatchCode::from_random(7),
            &inspection("pass"),
            now()
        ),
        Err(TraceError::NotFound)
    ));
    // each step's data is checked
    let missing = w.service.record_event(
        w.staff,
        &b.code,
        &event(TraceEventType::Inspection, json!({"lab": "x"})),
        now(),
    );
    match missing {
        Err(TraceError::Validation(v)) => {
            let fields: Vec<String> = v.0.iter().map(|e| e.field.clone()).collect();
            assert_eq!(fields, ["data.report_no", "data.items", "data.result"]);
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
    let cold = w.service.record_event(
        w.staff,
        &b.code,
        &event(TraceEventType::ColdStorage, json!({"temperature_c": 95})),
        now(),
    );
    assert!(matches!(cold, Err(TraceError::Validation(_))));
    let input = w.service.record_event(
        w.staff,
        &b.code,
        &event(TraceEventType::InputUse, json!({"product": "有机肥"})),
        now(),
    );
    assert!(matches!(input, Err(TraceError::Validation(_))));
    // not in the future (beyond the clock skew)
    let mut future = event(TraceEventType::Packing, json!({}));
    future.occurred_at = (now() + Duration::minutes(CLOCK_SKEW_MINUTES + 1)).fixed_offset();
    assert!(matches!(
        w.service.record_event(w.staff, &b.code, &future, now()),
        Err(TraceError::Validation(_))
    ));
    assert_eq!(w.store.events(&b.code).map(|e| e.len()).unwrap_or(0), 2);
}

#[test]
fn a_failed_inspection_pauses_buyable_listings_and_a_correction_clears_the_batch() {
    let w = world();
    let Ok(b) = w.service.create_batch(w.staff, &batch_input(&w), now()) else {
        panic!("batch")
    };
    let active = link(&w, &b.code, ListingStatus::Active);
    let sold_out = link(&w, &b.code, ListingStatus::SoldOut);
    let _draft = link(&w, &b.code, ListingStatus::Draft);
    let passed = w
        .service
        .record_event(w.staff, &b.code, &inspection("pass"), now());
    assert!(matches!(&passed, Ok(r) if r.paused.is_empty()));
    assert_eq!(w.store.failed(&b.code).ok().flatten(), Some(false));
    let failed = w
        .service
        .record_event(w.staff, &b.code, &inspection("fail"), now());
    let Ok(failed) = failed else {
        panic!("fail recorded")
    };
    assert_eq!(failed.paused, vec![active, sold_out]);
    assert_eq!(w.store.failed(&b.code).ok().flatten(), Some(true));
    // a packing step leaves the verdict and pauses nothing more
    let packing = w.service.record_event(
        w.staff,
        &b.code,
        &event(TraceEventType::Packing, json!({})),
        now(),
    );
    assert!(matches!(&packing, Ok(r) if r.paused.is_empty()));
    assert_eq!(w.store.failed(&b.code).ok().flatten(), Some(true));
    // the failed report was wrong: a correcting inspection clears the batch
    let mut correction = inspection("pass");
    correction.corrects = Some(failed.event.id);
    let corrected = w.service.record_event(w.staff, &b.code, &correction, now());
    assert!(corrected.is_ok());
    assert_eq!(w.store.failed(&b.code).ok().flatten(), Some(false));
    // corrected once only; a correction keeps the step
    assert!(matches!(
        w.service.record_event(w.staff, &b.code, &correction, now()),
        Err(TraceError::Refused(_))
    ));
    let mut wrong_type = event(TraceEventType::Packing, json!({}));
    wrong_type.corrects = Some(failed.event.id);
    assert!(matches!(
        w.service.record_event(w.staff, &b.code, &wrong_type, now()),
        Err(TraceError::Validation(_))
    ));
    // the public view shows the standing inspection and who corrected what
    let Ok(view) = w.service.public_view(&b.code) else {
        panic!("view")
    };
    assert_eq!(
        view.inspection().and_then(TraceEvent::inspection_result),
        Some(InspectionResult::Pass)
    );
    let Ok(corrected) = corrected else {
        panic!("corrected")
    };
    assert_eq!(view.corrected_by(failed.event.id), Some(corrected.event.id));
    assert_eq!(view.listings.len(), 2, "drafts are not shown");
    assert_eq!(
        view.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn the_current_inspection_is_the_last_standing_one() {
    let w = world();
    let Ok(b) = w.service.create_batch(w.staff, &batch_input(&w), now()) else {
        panic!("batch")
    };
    let Ok(fail) = w
        .service
        .record_event(w.staff, &b.code, &inspection("fail"), now())
    else {
        panic!("fail")
    };
    let Ok(pass) = w
        .service
        .record_event(w.staff, &b.code, &inspection("pass"), now())
    else {
        panic!("pass")
    };
    assert_eq!(w.store.failed(&b.code).ok().flatten(), Some(false));
    // correcting the later pass to a fail fails the batch again
    let mut again = inspection("fail");
    again.corrects = Some(pass.event.id);
    assert!(w
        .service
        .record_event(w.staff, &b.code, &again, now())
        .is_ok());
    assert_eq!(w.store.failed(&b.code).ok().flatten(), Some(true));
    let events = w.store.events(&b.code).unwrap_or_default();
    let standing: Vec<i32> = standing(&events).map(|e| e.seq).collect();
    assert_eq!(standing, vec![fail.event.seq, 3]);
}
