//! The membership register: applications, members, capital, accounts,
//! votes and surplus distribution. Visible to the cooperative's staff and
//! platform admins (read-only); a member may read its own record. Anyone
//! else gets 404.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use domain::coop::{
    Application, ApplicationId, ApplyInput, Contribution, ContributionInput, Distribution, Member,
    MemberAccount, MemberEvent, MemberId, MemberRef, OrgId, SurplusPlan, TransactionInput,
    YearVolume,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::viewer;
use crate::auth::{AuthUser, Meta};
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, OptionalJson};
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

mod applications;
mod capital;
mod members;
mod surplus;
mod voting;

pub use applications::*;
pub use capital::*;
pub use members::*;
pub use surplus::*;
pub use voting::*;

type OrgPath = web::Path<Uuid>;
type OrgItemPath = web::Path<(Uuid, Uuid)>;
