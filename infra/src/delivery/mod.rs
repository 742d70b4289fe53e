//! Postgres adapter of the delivery context: freight templates, and the
//! shipments of seller orders with their steps.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::coop::OrgId;
use domain::delivery::*;
use domain::orders::SellerOrderId;
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::{freight_templates, listings, shipment_events, shipment_items, shipments};

mod freight;
mod tracking;

pub use freight::PgFreightTemplates;
pub use tracking::PgShipmentStore;
pub(crate) use tracking::{insert_shipment, load_shipments, shipped_units};
