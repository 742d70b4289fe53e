//! Shipments: a seller order leaves as one or more parcels, each followed
//! from the county logistics hub (县级物流配送中心) to the village service
//! station by the organizations it passes.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use uuid::Uuid;

use crate::coop::OrgId;
use crate::orders::{
    decide_seller_change, SellerAction, SellerChange, SellerOrderForUpdate, SellerOrderId,
    SellerOrderStatus,
};
use crate::region::RegionCode;
use crate::typed_id;
use crate::validation::ValidationErrors;
use crate::wire_enum;

typed_id!(
    /// One parcel of a seller order.
    ShipmentId
);

wire_enum!(ShipmentEventType {
    /// The county hub took the parcel in.
    HubReceived => "hub_received",
    Sorted => "sorted",
    /// Pre-cooled before the cold chain (预冷).
    Precooled => "precooled",
    Dispatched => "dispatched",
    ArrivedStation => "arrived_station",
    /// The buyer collected it at the station.
    PickedUp => "picked_up",
    /// Handed to the buyer at the address.
    Delivered => "delivered",
});

impl ShipmentEventType {
    /// The parcel reached the buyer: nothing is recorded after this.
    pub fn closes(self) -> bool {
        matches!(self, Self::PickedUp | Self::Delivered)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShipmentItem {
    pub order_item_id: Uuid,
    pub quantity: i32,
}

/// One step of a parcel's way, as the organization that handled it saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentEvent {
    pub id: Uuid,
    pub kind: ShipmentEventType,
    /// When, with the offset it was reported in.
    pub occurred_at: DateTime<FixedOffset>,
    pub region_code: String,
    pub place: String,
    /// Tenths of a degree Celsius (cold chain).
    pub temperature_dc: Option<i32>,
    /// Who recorded it.
    pub organization_id: OrgId,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub seller_order_id: SellerOrderId,
    pub carrier: String,
    pub tracking_no: String,
    pub items: Vec<ShipmentItem>,
    /// Hubs and stations named on the way (the pickup station always).
    pub route: Vec<OrgId>,
    /// Holds chilled or frozen produce: temperatures are recorded.
    pub cold_chain: bool,
    pub created_at: DateTime<Utc>,
    /// In the order they happened.
    pub events: Vec<ShipmentEvent>,
}

impl Shipment {
    pub fn is_closed(&self) -> bool {
        self.events.iter().any(|e| e.kind.closes())
    }

    /// The organizations that may see it besides buyer and seller: those on
    /// the route and those that recorded a step.
    pub fn involves(&self, org: OrgId) -> bool {
        self.route.contains(&org) || self.events.iter().any(|e| e.organization_id == org)
    }

    /// Events in the order they happened (recording order breaks ties).
    pub fn sort_events(&mut self) {
        self.events
            .sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then(a.id.cmp(&b.id)));
    }
}

/// A step as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct EventInput {
    pub kind: String,
    pub occurred_at: DateTime<FixedOffset>,
    pub region_code: String,
    pub place: String,
    pub temperature_c: Option<f64>,
}

/// How far a reporter's clock may be off ours (either way).
pub const CLOCK_SKEW: i64 = 300;
pub const MIN_TEMPERATURE_C: f64 = -60.0;
pub const MAX_TEMPERATURE_C: f64 = 60.0;

/// A step checked on its own (the shipment's rules come in [`decide_event`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEvent {
    pub kind: ShipmentEventType,
    pub occurred_at: DateTime<FixedOffset>,
    pub region_code: RegionCode,
    pub place: String,
    pub temperature_dc: Option<i32>,
}

impl EventInput {
    pub fn check(&self, now: DateTime<Utc>) -> Result<CheckedEvent, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let kind = self
            .kind
            .parse::<ShipmentEventType>()
            .map_err(|m| e.add("type", m))
            .ok();
        if self.occurred_at.with_timezone(&Utc) > now + Duration::seconds(CLOCK_SKEW) {
            e.add("occurred_at", "is in the future");
        }
        let region = RegionCode::parse(&self.region_code)
            .map_err(|m| e.add("region_code", m))
            .ok();
        let place = self.place.trim();
        if place.is_empty() || place.chars().count() > 100 {
            e.add("place", "must be 1–100 characters");
        }
        let temperature_dc = match self.temperature_c {
            Some(t) if (MIN_TEMPERATURE_C..=MAX_TEMPERATURE_C).contains(&t) => {
                // Rounded to a tenth of a degree, half away from zero.
                Some((t * 10.0).round() as i32)
            }
            Some(_) => {
                e.add(
                    "temperature_c",
                    format!("must be {MIN_TEMPERATURE_C}–{MAX_TEMPERATURE_C}"),
                );
                None
            }
            None => None,
        };
        match (kind, region, e.is_empty()) {
            (Some(kind), Some(region_code), true) => Ok(CheckedEvent {
                kind,
                occurred_at: self.occurred_at,
                region_code,
                place: place.to_owned(),
                temperature_dc,
            }),
            _ => Err(e),
        }
    }
}

/// A shipment loaded (and locked, with its seller order and order) for a
/// new step.
#[derive(Debug, Clone)]
pub struct ShipmentForEvent {
    pub shipment: Shipment,
    /// The seller order, as [`decide_seller_change`] needs it.
    pub seller_order: SellerOrderForUpdate,
    pub order_created_at: DateTime<Utc>,
    /// Other shipments of the seller order still on their way.
    pub others_open: usize,
}

/// Everything a step changes: the event, and the seller order's delivery
/// when the last parcel of a home delivery arrived.
#[derive(Debug, Clone)]
pub struct EventChange {
    pub event: ShipmentEvent,
    pub seller_change: Option<SellerChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRefusal {
    /// The parcel was delivered or picked up already (or its seller order is closed).
    Closed,
    Invalid(ValidationErrors),
}

/// Decides a step: the shipment must still be on its way; a cold-chain
/// parcel needs a temperature until it reaches the buyer; a step cannot
/// predate the order. The last `delivered` parcel of a shipped home
/// delivery delivers the seller order ([`decide_seller_change`]).
pub fn decide_event(
    s: &ShipmentForEvent,
    e: &CheckedEvent,
    org: OrgId,
    now: DateTime<Utc>,
) -> Result<EventChange, EventRefusal> {
    if s.shipment.is_closed() || s.seller_order.status.is_final() {
        return Err(EventRefusal::Closed);
    }
    let mut errors = ValidationErrors::new();
    // Hubs' clocks may be behind ours by as much as they may be ahead.
    if e.occurred_at.with_timezone(&Utc) < s.order_created_at - Duration::seconds(CLOCK_SKEW) {
        errors.add("occurred_at", "is before the order was placed");
    }
    if s.shipment.cold_chain && !e.kind.closes() && e.temperature_dc.is_none() {
        errors.add(
            "temperature_c",
            "is required for chilled or frozen produce until it reaches the buyer",
        );
    }
    if !errors.is_empty() {
        return Err(EventRefusal::Invalid(errors));
    }
    let seller_change = if e.kind == ShipmentEventType::Delivered
        && s.others_open == 0
        && s.seller_order.station.is_none()
        && s.seller_order.status == SellerOrderStatus::Shipped
    {
        decide_seller_change(&s.seller_order, &SellerAction::Deliver, None, now).ok()
    } else {
        None
    };
    Ok(EventChange {
        event: ShipmentEvent {
            id: Uuid::now_v7(),
            kind: e.kind,
            occurred_at: e.occurred_at,
            region_code: e.region_code.as_str().to_owned(),
            place: e.place.clone(),
            temperature_dc: e.temperature_dc,
            organization_id: org,
            recorded_at: now,
        },
        seller_change,
    })
}

#[cfg(test)]
#[path = "shipments_tests.rs"]
mod tests;
