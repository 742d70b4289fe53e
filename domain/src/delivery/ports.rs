//! Ports of the delivery context.

use chrono::{DateTime, Utc};

use super::freight::{FreightTemplate, FreightTemplateId};
use super::shipments::{EventChange, EventRefusal, Shipment, ShipmentForEvent, ShipmentId};
use crate::coop::OrgId;
use crate::orders::{Buyer, OrderId};

pub type Unknown = anyhow::Error;

#[derive(Debug)]
pub enum TemplateSaved {
    Saved(Box<FreightTemplate>),
    /// Replace: no such template of this organization.
    NotFound,
    /// Create: the organization has [`super::MAX_TEMPLATES_PER_ORG`] already.
    TooMany,
    /// Another template of the organization has this name.
    DuplicateName,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TemplateDeleted {
    Deleted,
    NotFound,
    /// Listings name it; nothing was deleted.
    InUse(i64),
}

/// A seller's freight templates. At most one per organization is its
/// default: saving a default makes the others not default, in the same
/// transaction.
pub trait FreightTemplateRepository: Send + Sync {
    fn list_templates(&self, org: OrgId) -> Result<Vec<FreightTemplate>, Unknown>;

    fn find_template(
        &self,
        org: OrgId,
        id: FreightTemplateId,
    ) -> Result<Option<FreightTemplate>, Unknown>;

    /// Creates (`create`) or replaces the template.
    fn save_template(&self, t: &FreightTemplate, create: bool) -> Result<TemplateSaved, Unknown>;

    fn delete_template(
        &self,
        org: OrgId,
        id: FreightTemplateId,
    ) -> Result<TemplateDeleted, Unknown>;
}

/// A shipment with who may see it.
#[derive(Debug, Clone)]
pub struct ShipmentView {
    pub shipment: Shipment,
    pub seller_id: OrgId,
    pub order_id: OrderId,
    pub buyer: Buyer,
}

#[derive(Debug)]
pub enum EventRecorded {
    Recorded(Box<ShipmentView>),
    NotFound,
    /// `decide` refused; nothing was written.
    Refused(EventRefusal),
}

/// Decides a step over the loaded state ([`super::decide_event`]).
pub type DecideEvent<'a> = &'a dyn Fn(&ShipmentForEvent) -> Result<EventChange, EventRefusal>;

/// Shipments' steps. (Shipments are created by the seller-order transition,
/// `orders::FulfilmentStore::transition`.)
pub trait ShipmentStore: Send + Sync {
    fn find_shipment(&self, id: ShipmentId) -> Result<Option<ShipmentView>, Unknown>;

    /// In one transaction: locks the order, the seller order and the
    /// shipment (the seller-order lock order), loads what the rules need,
    /// asks `decide`, and writes the event and — the last parcel delivered —
    /// the seller order's change, with its status event by `actor`.
    fn record_event(
        &self,
        id: ShipmentId,
        decide: DecideEvent<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<EventRecorded, Unknown>;
}
