//! Ports of the identity context. Implementations live in `infra`; every
//! method blocks (call from a blocking thread).

use chrono::{DateTime, Utc};

use super::model::*;

/// Storage failures the caller cannot act on.
pub type Unknown = anyhow::Error;

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with this e-mail or phone already exists")]
    Duplicate,
    #[error(transparent)]
    Unknown(#[from] Unknown),
}

pub trait UserRepository: Send + Sync {
    fn create(&self, user: &NewUser) -> Result<User, CreateUserError>;
    /// Looks an account up by e-mail (normalised) or phone.
    fn find_by_login(&self, login: &str) -> Result<Option<UserCredentials>, Unknown>;
    fn find(&self, id: UserId) -> Result<Option<User>, Unknown>;
    fn any_platform_admin(&self) -> Result<bool, Unknown>;
    fn set_platform_admin(&self, id: UserId) -> Result<(), Unknown>;
}

/// A refresh token to store (only its hash is kept).
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub token_hash: String,
    pub family_id: TokenFamilyId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
}

/// What happened when a refresh token was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now rotated and the replacement stored.
    Rotated {
        user_id: UserId,
        family_id: TokenFamilyId,
    },
    /// The token had already been rotated: someone replays it.
    Reused {
        user_id: UserId,
        family_id: TokenFamilyId,
    },
    /// Revoked, expired or unknown.
    Invalid,
}

pub trait RefreshTokenRepository: Send + Sync {
    fn insert(&self, token: &NewRefreshToken) -> Result<(), Unknown>;
    /// Atomically: if the token with `presented_hash` is current (not
    /// rotated, not revoked, not expired at `now`), mark it rotated and store
    /// `replacement` in the same family. Concurrent calls with the same token
    /// see exactly one `Rotated`.
    fn rotate(
        &self,
        presented_hash: &str,
        replacement: &dyn Fn(UserId, TokenFamilyId) -> NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<Rotation, Unknown>;
    /// Revokes every token of the family; returns how many were live.
    fn revoke_family(&self, family_id: TokenFamilyId, now: DateTime<Utc>)
        -> Result<usize, Unknown>;
    /// The family and owner of a stored token, whatever its state.
    fn family_of(&self, token_hash: &str) -> Result<Option<(TokenFamilyId, UserId)>, Unknown>;
}

#[derive(Debug, Clone)]
pub struct NewPartner {
    pub id: PartnerId,
    pub name: String,
    pub client_id: String,
    pub secret_hash: String,
    pub scopes: Scopes,
    pub created_by: UserId,
}

#[derive(Debug, Clone, Default)]
pub struct PartnerPatch {
    pub name: Option<String>,
    pub scopes: Option<Scopes>,
    pub status: Option<PartnerStatus>,
}

pub trait PartnerRepository: Send + Sync {
    fn create(&self, partner: &NewPartner) -> Result<Partner, Unknown>;
    fn find(&self, id: PartnerId) -> Result<Option<Partner>, Unknown>;
    /// The partner and its secret hash.
    fn find_by_client_id(&self, client_id: &str) -> Result<Option<(Partner, String)>, Unknown>;
    fn set_secret(
        &self,
        id: PartnerId,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Partner>, Unknown>;
    fn update(&self, id: PartnerId, patch: &PartnerPatch) -> Result<Option<Partner>, Unknown>;
    fn list(&self) -> Result<Vec<Partner>, Unknown>;
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor_id: Option<uuid::Uuid>,
    /// Entries strictly older than this id (ids are time-ordered).
    pub before: Option<uuid::Uuid>,
    pub limit: i64,
}

pub trait AuditRepository: Send + Sync {
    fn record(&self, entry: &AuditEntry) -> Result<(), Unknown>;
    fn list(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, Unknown>;
}

/// Slow, salted hashing for low-entropy passwords (argon2id).
pub trait PasswordHasher: Send + Sync {
    fn hash(&self, password: &Password) -> Result<String, Unknown>;
    fn verify(&self, password: &Password, hash: &str) -> bool;
    /// Burns the same time as a failed `verify`, so unknown accounts cannot
    /// be told from wrong passwords by timing.
    fn dummy_verify(&self);
}

/// Random secrets and their fast hashes (refresh tokens, client secrets:
/// 256-bit random values need no slow hash).
pub trait Secrets: Send + Sync {
    /// A new URL-safe random secret of 256 bits.
    fn generate(&self) -> String;
    /// SHA-256 hex digest.
    fn digest(&self, secret: &str) -> String;
    /// Constant-time comparison of a secret with a stored digest.
    fn matches(&self, secret: &str, digest: &str) -> bool;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
}

/// Signs and verifies access tokens (JWT in `infra`).
pub trait AccessTokenCodec: Send + Sync {
    fn issue(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<(String, AccessClaims), Unknown>;
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError>;
    fn ttl_seconds(&self) -> i64;
}
