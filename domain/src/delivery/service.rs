//! Delivery use cases: a seller's freight templates (its staff only; others
//! get 404) and the steps of shipments.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::freight::*;
use super::ports::*;
use super::shipments::*;
use crate::coop::{OrgId, OrgKind, OrgRepository};
use crate::identity::UserId;
use crate::orders::Buyer;
use crate::validation::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("an organization has at most {MAX_TEMPLATES_PER_ORG} freight templates")]
    TooManyTemplates,
    #[error("another freight template of the organization has this name")]
    DuplicateName,
    #[error("{0} listing(s) use this freight template")]
    TemplateInUse(i64),
    #[error("the shipment has reached the buyer; nothing more is recorded")]
    ShipmentClosed,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct DeliveryService {
    pub templates: Arc<dyn FreightTemplateRepository>,
    pub shipments: Arc<dyn ShipmentStore>,
    pub orgs: Arc<dyn OrgRepository>,
}

/// The kinds of organization that record steps of other sellers' parcels.
pub fn handles_parcels(kind: OrgKind) -> bool {
    matches!(kind, OrgKind::LogisticsHub | OrgKind::ServiceStation)
}

impl DeliveryService {
    fn staff(&self, org: OrgId, user: UserId) -> Result<bool, DeliveryError> {
        Ok(self.orgs.staff_role(org, user)?.is_some())
    }

    /// The organization's staff see and edit its templates; others get 404.
    fn own(&self, org: OrgId, user: UserId) -> Result<(), DeliveryError> {
        if self.staff(org, user)? {
            Ok(())
        } else {
            Err(DeliveryError::NotFound)
        }
    }

    pub fn templates(
        &self,
        user: UserId,
        org: OrgId,
    ) -> Result<Vec<FreightTemplate>, DeliveryError> {
        self.own(org, user)?;
        Ok(self.templates.list_templates(org)?)
    }

    pub fn template(
        &self,
        user: UserId,
        org: OrgId,
        id: FreightTemplateId,
    ) -> Result<FreightTemplate, DeliveryError> {
        self.own(org, user)?;
        self.templates
            .find_template(org, id)?
            .ok_or(DeliveryError::NotFound)
    }

    /// Creates (`id = None`) or replaces a template.
    pub fn save_template(
        &self,
        user: UserId,
        org: OrgId,
        id: Option<FreightTemplateId>,
        input: &TemplateInput,
        now: DateTime<Utc>,
    ) -> Result<FreightTemplate, DeliveryError> {
        self.own(org, user)?;
        let (name, spec) = input.validate()?;
        let created_at = match id {
            Some(id) => {
                self.templates
                    .find_template(org, id)?
                    .ok_or(DeliveryError::NotFound)?
                    .created_at
            }
            None => now,
        };
        let t = FreightTemplate {
            id: id.unwrap_or_default(),
            org_id: org,
            name,
            is_default: input.is_default,
            spec,
            created_at,
            updated_at: now,
        };
        match self.templates.save_template(&t, id.is_none())? {
            TemplateSaved::Saved(t) => Ok(*t),
            TemplateSaved::NotFound => Err(DeliveryError::NotFound),
            TemplateSaved::TooMany => Err(DeliveryError::TooManyTemplates),
            TemplateSaved::DuplicateName => Err(DeliveryError::DuplicateName),
        }
    }

    pub fn delete_template(
        &self,
        user: UserId,
        org: OrgId,
        id: FreightTemplateId,
    ) -> Result<(), DeliveryError> {
        self.own(org, user)?;
        match self.templates.delete_template(org, id)? {
            TemplateDeleted::Deleted => Ok(()),
            TemplateDeleted::NotFound => Err(DeliveryError::NotFound),
            TemplateDeleted::InUse(n) => Err(DeliveryError::TemplateInUse(n)),
        }
    }

    /// May `viewer` see this shipment? Its buyer, its seller's staff, and
    /// the staff of organizations on its route or that recorded a step.
    fn may_see(&self, viewer: Buyer, v: &ShipmentView) -> Result<bool, DeliveryError> {
        if v.buyer == viewer {
            return Ok(true);
        }
        let Buyer::User(user) = viewer else {
            return Ok(false);
        };
        if self.staff(v.seller_id, user)? {
            return Ok(true);
        }
        let mut involved: Vec<OrgId> = v.shipment.route.clone();
        involved.extend(v.shipment.events.iter().map(|e| e.organization_id));
        involved.sort();
        involved.dedup();
        for org in involved {
            if self.staff(org, user)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn shipment(&self, viewer: Buyer, id: ShipmentId) -> Result<ShipmentView, DeliveryError> {
        let v = self
            .shipments
            .find_shipment(id)?
            .ok_or(DeliveryError::NotFound)?;
        if self.may_see(viewer, &v)? {
            Ok(v)
        } else {
            Err(DeliveryError::NotFound)
        }
    }

    /// The organization `user` records a step for: the one named (the
    /// seller, or a logistics hub or service station the user is staff
    /// of), else the only one of the seller and the route the user is staff
    /// of. Nobody of those: 404.
    fn acting_org(
        &self,
        user: UserId,
        v: &ShipmentView,
        named: Option<OrgId>,
    ) -> Result<OrgId, DeliveryError> {
        if let Some(org) = named {
            let handles = org == v.seller_id
                || self
                    .orgs
                    .find(org)?
                    .is_some_and(|o| handles_parcels(o.kind));
            if !handles {
                return Err(ValidationErrors::single(
                    "organization_id",
                    "must be the seller, a logistics hub or a service station",
                )
                .into());
            }
            if !self.staff(org, user)? {
                return Err(ValidationErrors::single(
                    "organization_id",
                    "you are not staff of this organization",
                )
                .into());
            }
            return Ok(org);
        }
        let mut candidates = vec![v.seller_id];
        candidates.extend(v.shipment.route.iter().copied());
        candidates.dedup();
        let mut mine = Vec::new();
        for org in candidates {
            if self.staff(org, user)? {
                mine.push(org);
            }
        }
        match mine.as_slice() {
            [] => Err(DeliveryError::NotFound),
            [one] => Ok(*one),
            _ => Err(ValidationErrors::single(
                "organization_id",
                "is required: you are staff of several organizations on this shipment",
            )
            .into()),
        }
    }

    /// Records a step of a parcel's way ([`decide_event`]).
    pub fn record_event(
        &self,
        user: UserId,
        id: ShipmentId,
        input: &EventInput,
        organization_id: Option<OrgId>,
        now: DateTime<Utc>,
    ) -> Result<ShipmentView, DeliveryError> {
        let v = self
            .shipments
            .find_shipment(id)?
            .ok_or(DeliveryError::NotFound)?;
        let org = self.acting_org(user, &v, organization_id)?;
        let checked = input.check(now)?;
        let decide = |s: &ShipmentForEvent| decide_event(s, &checked, org, now);
        match self
            .shipments
            .record_event(id, &decide, &format!("user:{user}"), now)?
        {
            EventRecorded::Recorded(v) => Ok(*v),
            EventRecorded::NotFound => Err(DeliveryError::NotFound),
            EventRecorded::Refused(EventRefusal::Closed) => Err(DeliveryError::ShipmentClosed),
            EventRecorded::Refused(EventRefusal::Invalid(e)) => Err(e.into()),
        }
    }
}
