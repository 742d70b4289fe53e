//! Identity adapters: Postgres repositories, argon2id password hashing,
//! SHA-256 secrets, HS256 JWT access tokens with a rotating key ring.

use std::collections::HashMap;

use anyhow::Context;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::identity::*;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::db::{get_conn, PgPool};
use crate::schema::{audit_log, partners, refresh_tokens, users};

mod accounts;
mod audit;
mod jwt;
mod partner_clients;
mod refresh;
mod secrets;

pub use accounts::*;
pub use audit::*;
pub use jwt::*;
pub use partner_clients::*;
pub use refresh::*;
pub use secrets::*;
