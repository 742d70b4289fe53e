//! The cooperative service through in-memory adapters: approvals under the
//! composition rules, votes with the 20 % cap, surplus preview and commit.

use std::sync::Arc;

use chrono::Utc;

use super::memory::{MemoryAudit, MemoryOrgs, MemoryRegister, NoUsers};
use super::*;
use crate::identity::{RequestMeta, UserId};
use crate::money::Fen;
use crate::region::RegionCode;

struct World {
    service: CoopService,
    register: Arc<MemoryRegister>,
    audit: Arc<MemoryAudit>,
    org: OrgId,
    admin: Viewer,
}

fn world(kind: OrgKind, basis: AdditionalVoteBasis) -> World {
    let org = OrgId::new();
    let admin = UserId::new();
    let orgs = Arc::new(MemoryOrgs::default());
    let now = Utc::now();
    if let (Ok(mut o), Ok(code), Ok(region)) = (
        orgs.orgs.lock(),
        CreditCode::parse("93220106MA0Y3XXX0T"),
        RegionCode::parse("220106"),
    ) {
        o.insert(
            org,
            Organization {
                id: org,
                kind,
                name: "合心镇甜瓜专业合作社".into(),
                credit_code: code,
                region_code: region,
                parent_id: None,
                contact_email: "coop@example.com".into(),
                additional_vote_basis: basis,
                pickup_fee: Fen(0),
                created_at: now,
                updated_at: now,
            },
        );
    }
    if let Ok(mut s) = orgs.staff.lock() {
        s.push((org, admin, StaffRole::Admin));
    }
    let register = Arc::new(MemoryRegister::default());
    let audit = Arc::new(MemoryAudit::default());
    World {
        service: CoopService {
            orgs,
            members: register.clone(),
            users: Arc::new(NoUsers),
            audit: audit.clone(),
        },
        register,
        audit,
        org,
        admin: Viewer {
            user: admin,
            platform_admin: false,
        },
    }
}

fn person(w: &World, farmer: bool, volume: i64, capital: i64) -> MemberId {
    w.register.seed_member(
        w.org,
        MemberRef::User(UserId::new()),
        farmer,
        Fen(volume),
        Fen(capital),
    )
}

fn meta() -> RequestMeta {
    RequestMeta {
        ip: None,
        request_id: None,
    }
}

fn rule_code(r: Result<Application, CoopError>) -> Option<&'static str> {
    match r {
        Err(CoopError::Rule { code, .. }) => Some(code),
        _ => None,
    }
}

#[test]
fn a_farmer_coop_approval_that_breaks_the_farmer_share_is_refused_and_writes_nothing() {
    let w = world(OrgKind::FarmerCoop, AdditionalVoteBasis::None);
    for _ in 0..4 {
        person(&w, true, 0, 0);
    }
    // 4 farmers + 1 other person = 80 %: allowed.
    let ok = w
        .register
        .pending(w.org, MemberRef::User(UserId::new()), false);
    let approved = w.service.approve(&w.admin, w.org, ok, &meta());
    assert_eq!(
        approved.as_ref().map(|a| a.status).ok(),
        Some(ApplicationStatus::Approved),
        "{approved:?}"
    );
    // A second non-farmer: 4 of 6 are farmers, below 80 %.
    let refused = w
        .register
        .pending(w.org, MemberRef::User(UserId::new()), false);
    let r = w.service.approve(&w.admin, w.org, refused, &meta());
    assert_eq!(rule_code(r), Some("composition_farmer_share"));
    let st = w
        .register
        .state
        .lock()
        .map(|s| {
            (
                s.members.len(),
                s.applications
                    .iter()
                    .filter(|a| a.status == ApplicationStatus::Pending)
                    .count(),
            )
        })
        .ok();
    assert_eq!(
        st,
        Some((5, 1)),
        "no member written, the application still pending"
    );
    // A farmer applicant is fine.
    let farmer = w
        .register
        .pending(w.org, MemberRef::User(UserId::new()), true);
    assert!(w.service.approve(&w.admin, w.org, farmer, &meta()).is_ok());
    assert_eq!(
        w.audit.actions.lock().map(|a| a.clone()).ok(),
        Some(vec![
            "membership.approved".to_owned(),
            "membership.approved".to_owned()
        ])
    );
}

#[test]
fn at_most_one_organization_member_up_to_20_members() {
    let w = world(OrgKind::FarmerCoop, AdditionalVoteBasis::None);
    for _ in 0..10 {
        person(&w, true, 0, 0);
    }
    let first = w
        .register
        .pending(w.org, MemberRef::Organization(OrgId::new()), false);
    assert!(w.service.approve(&w.admin, w.org, first, &meta()).is_ok());
    let second = w
        .register
        .pending(w.org, MemberRef::Organization(OrgId::new()), false);
    assert_eq!(
        rule_code(w.service.approve(&w.admin, w.org, second, &meta())),
        Some("composition_enterprise_limit")
    );
}

#[test]
fn only_the_admin_approves_and_other_coops_see_nothing() {
    let w = world(OrgKind::FarmerCoop, AdditionalVoteBasis::None);
    let app = w
        .register
        .pending(w.org, MemberRef::User(UserId::new()), true);
    let stranger = Viewer {
        user: UserId::new(),
        platform_admin: false,
    };
    assert!(matches!(
        w.service.approve(&stranger, w.org, app, &meta()),
        Err(CoopError::NotFound)
    ));
    let auditor = Viewer {
        user: UserId::new(),
        platform_admin: true,
    };
    assert!(matches!(
        w.service.approve(&auditor, w.org, app, &meta()),
        Err(CoopError::Forbidden(..))
    ));
}

#[test]
fn votes_give_one_basic_vote_each_and_cap_additional_votes_at_a_fifth() {
    let w = world(OrgKind::FarmerCoop, AdditionalVoteBasis::Capital);
    let big = person(&w, true, 0, 9_000_000);
    for _ in 0..9 {
        person(&w, true, 0, 100_000);
    }
    let sheet = w
        .service
        .votes(&w.admin, w.org, Some(2026))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(sheet.total_basic, 10);
    assert!(sheet.total_additional * 5 <= sheet.total_basic, "{sheet:?}");
    assert!(sheet.total_additional > 0);
    let top = sheet.members.iter().max_by_key(|v| v.additional);
    assert_eq!(top.map(|v| v.member_id), Some(big));
    // Without a basis there are no additional votes.
    let plain = world(OrgKind::FarmerCoop, AdditionalVoteBasis::None);
    person(&plain, true, 0, 9_000_000);
    let sheet = plain.service.votes(&plain.admin, plain.org, Some(2026));
    assert_eq!(
        sheet.map(|s| (s.total_basic, s.total_additional)).ok(),
        Some((1, 0))
    );
}

#[test]
fn surplus_preview_equals_the_commit_which_happens_once_per_year() {
    let w = world(OrgKind::FarmerCoop, AdditionalVoteBasis::None);
    person(&w, true, 1_000_000, 500_000);
    person(&w, true, 2_000_000, 0);
    person(&w, true, 0, 250_000);
    let preview = w
        .service
        .preview_surplus(&w.admin, w.org, 2026, 1_000_001, Some(6000))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let total: i64 = preview.allocations.iter().map(|a| a.total.0).sum();
    assert_eq!(total, 1_000_001, "allocations sum exactly to the surplus");
    assert!(preview.patronage_pool.0 * 10 >= 1_000_001 * 6);
    let committed = w
        .service
        .commit_surplus(&w.admin, w.org, 2026, 1_000_001, Some(6000), &meta())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(committed.plan, preview);
    let again = w
        .service
        .commit_surplus(&w.admin, w.org, 2026, 1_000_001, Some(6000), &meta());
    assert!(
        matches!(
            again,
            Err(CoopError::Conflict {
                code: "distribution_exists",
                ..
            })
        ),
        "{again:?}"
    );
    // A ratio below 60 % never reaches the register.
    let low = w
        .service
        .preview_surplus(&w.admin, w.org, 2027, 1000, Some(5999));
    assert!(matches!(low, Err(CoopError::Validation(_))), "{low:?}");
}
