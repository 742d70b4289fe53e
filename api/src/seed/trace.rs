//! The demo trace batch: the first coop's first product, followed from
//! planting to a passed inspection and cold storage.

use chrono::{Duration, Utc};
use domain::catalog::ListingFields;
use domain::coop::{OrgId, Viewer};

use crate::state::AppState;

/// A demo trace batch of the first coop's first product, from planting to
/// a passed inspection and cold storage; its listings name it.
pub(super) fn demo_trace(
    state: &AppState,
    owner: &Viewer,
    org: OrgId,
    fields: &mut [ListingFields],
) -> anyhow::Result<()> {
    use domain::trace::{BatchInput, EventInput, TraceEventType};
    let Some(first) = fields.first() else {
        return Ok(());
    };
    let (category, variety) = (first.category_id, first.variety.clone());
    let now = Utc::now();
    let batch = state
        .trace
        .create_batch(
            owner.user,
            &BatchInput {
                producer_id: Some(org),
                supplier_member_id: None,
                category_id: Some(category),
                variety: variety.clone(),
                region_code: "220106".into(),
                location: "合心镇岳家村3号地块".into(),
                quantity: 2000,
                unit: "kg".into(),
            },
            now,
        )
        .map_err(|e| anyhow::anyhow!("demo batch: {e}"))?;
    let offset =
        chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| anyhow::anyhow!("offset"))?;
    let steps = [
        (
            TraceEventType::Planting,
            90,
            "岳家村3号地块",
            serde_json::json!({"note": "育苗移栽"}),
        ),
        (
            TraceEventType::InputUse,
            60,
            "岳家村3号地块",
            serde_json::json!({"product": "腐熟有机肥", "dose": "2000kg/亩"}),
        ),
        (
            TraceEventType::Harvest,
            3,
            "岳家村3号地块",
            serde_json::json!({"quantity_kg": 2000}),
        ),
        (
            TraceEventType::Inspection,
            2,
            "长春市农产品质量检测中心",
            serde_json::json!({
            "lab": "长春市农产品质量检测中心", "items": ["农药残留", "重金属"], "result": "pass", "report_no": "JC-2026-0708"}),
        ),
        (
            TraceEventType::Packing,
            2,
            "合心镇甜瓜专业合作社分拣中心",
            serde_json::json!({"package": "5kg箱"}),
        ),
        (
            TraceEventType::ColdStorage,
            1,
            "绿园区县级物流配送中心冷库",
            serde_json::json!({"temperature_c": 4.0}),
        ),
    ];
    for (event_type, days_ago, place, data) in steps {
        let input = EventInput {
            event_type,
            occurred_at: (now - Duration::days(days_ago)).with_timezone(&offset),
            region_code: "220106".into(),
            description: place.into(),
            data: data.as_object().cloned().unwrap_or_default(),
            corrects: None,
        };
        state
            .trace
            .record_event(owner.user, &batch.code, &input, now)
            .map_err(|e| anyhow::anyhow!("demo trace event: {e}"))?;
    }
    for f in fields.iter_mut().filter(|f| f.variety == variety) {
        f.trace_batch_code = Some(batch.code.to_string());
    }
    tracing::info!(code = %batch.code, "demo trace batch");
    Ok(())
}
