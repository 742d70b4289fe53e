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

// ---- users -------------------------------------------------------------

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: Uuid,
    email: Option<String>,
    phone: Option<String>,
    password_hash: String,
    display_name: String,
    is_platform_admin: bool,
    created_at: DateTime<Utc>,
}

impl UserRow {
    fn into_credentials(self) -> UserCredentials {
        UserCredentials {
            password_hash: self.password_hash,
            user: User {
                id: UserId(self.id),
                email: self.email,
                phone: self.phone,
                display_name: self.display_name,
                is_platform_admin: self.is_platform_admin,
                created_at: self.created_at,
            },
        }
    }
}

pub struct PgUserRepository {
    pub pool: PgPool,
}

impl UserRepository for PgUserRepository {
    fn create(&self, new: &NewUser) -> Result<User, CreateUserError> {
        let mut conn = get_conn(&self.pool).map_err(anyhow::Error::from)?;
        let row = diesel::insert_into(users::table)
            .values((
                users::id.eq(UserId::new().0),
                users::email.eq(new.email.as_ref().map(|e| e.as_str())),
                users::phone.eq(new.phone.as_ref().map(|p| p.as_str())),
                users::password_hash.eq(&new.password_hash),
                users::display_name.eq(&new.display_name),
                users::is_platform_admin.eq(new.is_platform_admin),
            ))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    CreateUserError::Duplicate
                }
                other => CreateUserError::Unknown(other.into()),
            })?;
        Ok(row.into_credentials().user)
    }

    fn find_by_login(&self, login: &str) -> Result<Option<UserCredentials>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = users::table
            .filter(users::email.eq(login).or(users::phone.eq(login)))
            .select(UserRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(UserRow::into_credentials))
    }

    fn find(&self, id: UserId) -> Result<Option<User>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = users::table
            .find(id.0)
            .select(UserRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|r| r.into_credentials().user))
    }

    fn any_platform_admin(&self) -> Result<bool, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(diesel::select(diesel::dsl::exists(
            users::table.filter(users::is_platform_admin.eq(true)),
        ))
        .get_result(&mut conn)?)
    }

    fn set_platform_admin(&self, id: UserId) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        diesel::update(users::table.find(id.0))
            .set(users::is_platform_admin.eq(true))
            .execute(&mut conn)?;
        Ok(())
    }
}

// ---- refresh tokens ------------------------------------------------------

/// user, family, expires_at, rotated_at, revoked_at
type TokenState = (
    Uuid,
    Uuid,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

pub struct PgRefreshTokenRepository {
    pub pool: PgPool,
}

fn insert_refresh(conn: &mut PgConnection, t: &NewRefreshToken) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::family_id.eq(t.family_id.0),
            refresh_tokens::user_id.eq(t.user_id.0),
            refresh_tokens::token_hash.eq(&t.token_hash),
            refresh_tokens::expires_at.eq(t.expires_at),
        ))
        .execute(conn)
}

impl RefreshTokenRepository for PgRefreshTokenRepository {
    fn insert(&self, token: &NewRefreshToken) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        insert_refresh(&mut conn, token)?;
        Ok(())
    }

    fn rotate(
        &self,
        presented_hash: &str,
        replacement: &dyn Fn(UserId, TokenFamilyId) -> NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<Rotation, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let outcome = conn.transaction::<_, DieselError, _>(|conn| {
            // The row lock makes concurrent presentations of one token
            // queue here: exactly one sees it current.
            let row: Option<TokenState> = refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(presented_hash))
                .select((
                    refresh_tokens::user_id,
                    refresh_tokens::family_id,
                    refresh_tokens::expires_at,
                    refresh_tokens::rotated_at,
                    refresh_tokens::revoked_at,
                ))
                .for_update()
                .first(conn)
                .optional()?;
            let Some((user_id, family_id, expires_at, rotated_at, revoked_at)) = row else {
                return Ok(Rotation::Invalid);
            };
            let (user_id, family_id) = (UserId(user_id), TokenFamilyId(family_id));
            if revoked_at.is_some() || expires_at <= now {
                return Ok(Rotation::Invalid);
            }
            if rotated_at.is_some() {
                return Ok(Rotation::Reused { user_id, family_id });
            }
            diesel::update(
                refresh_tokens::table.filter(refresh_tokens::token_hash.eq(presented_hash)),
            )
            .set(refresh_tokens::rotated_at.eq(now))
            .execute(conn)?;
            insert_refresh(conn, &replacement(user_id, family_id))?;
            Ok(Rotation::Rotated { user_id, family_id })
        })?;
        Ok(outcome)
    }

    fn revoke_family(
        &self,
        family_id: TokenFamilyId,
        now: DateTime<Utc>,
    ) -> Result<usize, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let live = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id.0))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(&mut conn)?;
        Ok(live)
    }

    fn family_of(&self, token_hash: &str) -> Result<Option<(TokenFamilyId, UserId)>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<(Uuid, Uuid)> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((refresh_tokens::family_id, refresh_tokens::user_id))
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|(f, u)| (TokenFamilyId(f), UserId(u))))
    }
}

// ---- partners ------------------------------------------------------------

#[derive(Queryable, Selectable)]
#[diesel(table_name = partners)]
struct PartnerRow {
    id: Uuid,
    name: String,
    client_id: String,
    secret_hash: String,
    scopes: Vec<Option<String>>,
    status: String,
    created_at: DateTime<Utc>,
    secret_rotated_at: DateTime<Utc>,
}

impl PartnerRow {
    fn into_partner(self) -> (Partner, String) {
        let scopes = Scopes(
            self.scopes
                .iter()
                .flatten()
                .filter_map(|s| s.parse().ok())
                .collect(),
        );
        (
            Partner {
                id: PartnerId(self.id),
                name: self.name,
                client_id: self.client_id,
                scopes,
                status: if self.status == "active" {
                    PartnerStatus::Active
                } else {
                    PartnerStatus::Disabled
                },
                created_at: self.created_at,
                secret_rotated_at: self.secret_rotated_at,
            },
            self.secret_hash,
        )
    }
}

fn scope_array(scopes: &Scopes) -> Vec<String> {
    scopes.0.iter().map(|s| s.as_str().to_owned()).collect()
}

pub struct PgPartnerRepository {
    pub pool: PgPool,
}

impl PartnerRepository for PgPartnerRepository {
    fn create(&self, p: &NewPartner) -> Result<Partner, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = diesel::insert_into(partners::table)
            .values((
                partners::id.eq(p.id.0),
                partners::name.eq(&p.name),
                partners::client_id.eq(&p.client_id),
                partners::secret_hash.eq(&p.secret_hash),
                partners::scopes.eq(scope_array(&p.scopes)),
                partners::created_by.eq(p.created_by.0),
            ))
            .returning(PartnerRow::as_returning())
            .get_result(&mut conn)?;
        Ok(row.into_partner().0)
    }

    fn find(&self, id: PartnerId) -> Result<Option<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = partners::table
            .find(id.0)
            .select(PartnerRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|r| r.into_partner().0))
    }

    fn find_by_client_id(&self, client_id: &str) -> Result<Option<(Partner, String)>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = partners::table
            .filter(partners::client_id.eq(client_id))
            .select(PartnerRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(PartnerRow::into_partner))
    }

    fn set_secret(
        &self,
        id: PartnerId,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = diesel::update(partners::table.find(id.0))
            .set((
                partners::secret_hash.eq(secret_hash),
                partners::secret_rotated_at.eq(now),
            ))
            .returning(PartnerRow::as_returning())
            .get_result(&mut conn)
            .optional()?;
        Ok(row.map(|r| r.into_partner().0))
    }

    fn update(&self, id: PartnerId, patch: &PartnerPatch) -> Result<Option<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = conn.transaction::<_, DieselError, _>(|conn| {
            if let Some(name) = &patch.name {
                diesel::update(partners::table.find(id.0))
                    .set(partners::name.eq(name))
                    .execute(conn)?;
            }
            if let Some(scopes) = &patch.scopes {
                diesel::update(partners::table.find(id.0))
                    .set(partners::scopes.eq(scope_array(scopes)))
                    .execute(conn)?;
            }
            if let Some(status) = patch.status {
                diesel::update(partners::table.find(id.0))
                    .set(partners::status.eq(status.as_str()))
                    .execute(conn)?;
            }
            partners::table
                .find(id.0)
                .select(PartnerRow::as_select())
                .first(conn)
                .optional()
        })?;
        Ok(row.map(|r| r.into_partner().0))
    }

    fn list(&self) -> Result<Vec<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows = partners::table
            .order(partners::id.asc())
            .select(PartnerRow::as_select())
            .load(&mut conn)?;
        Ok(rows.into_iter().map(|r| r.into_partner().0).collect())
    }
}

// ---- audit log -------------------------------------------------------------

pub struct PgAuditRepository {
    pub pool: PgPool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    id: Uuid,
    occurred_at: DateTime<Utc>,
    actor_kind: String,
    actor_id: Option<Uuid>,
    action: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    ip: Option<String>,
    request_id: Option<String>,
    details: serde_json::Value,
}

impl AuditRepository for PgAuditRepository {
    fn record(&self, e: &AuditEntry) -> Result<(), Unknown> {
        let (kind, actor_id) = match &e.actor {
            Actor::Anonymous => ("anonymous", None),
            Actor::User(id) => ("user", Some(id.0)),
            Actor::Partner(id) => ("partner", Some(id.0)),
            Actor::System => ("system", None),
        };
        let mut conn = get_conn(&self.pool)?;
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::id.eq(Uuid::now_v7()),
                audit_log::actor_kind.eq(kind),
                audit_log::actor_id.eq(actor_id),
                audit_log::action.eq(&e.action),
                audit_log::target_kind.eq(&e.target_kind),
                audit_log::target_id.eq(&e.target_id),
                audit_log::ip.eq(&e.meta.ip),
                audit_log::request_id.eq(&e.meta.request_id),
                audit_log::details.eq(&e.details),
            ))
            .execute(&mut conn)?;
        Ok(())
    }

    fn list(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
        if let Some(action) = &q.action {
            query = query.filter(audit_log::action.eq(action));
        }
        if let Some(actor) = q.actor_id {
            query = query.filter(audit_log::actor_id.eq(actor));
        }
        if let Some(before) = q.before {
            query = query.filter(audit_log::id.lt(before));
        }
        let rows = query
            .order(audit_log::id.desc())
            .limit(q.limit)
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                occurred_at: r.occurred_at,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                ip: r.ip,
                request_id: r.request_id,
                details: r.details,
            })
            .collect())
    }
}

// ---- password hashing ------------------------------------------------------

/// argon2id with the crate's defaults (19 MiB, t=2, p=1: OWASP's minimum).
pub struct Argon2Hasher {
    dummy_hash: String,
}

impl Argon2Hasher {
    pub fn new() -> anyhow::Result<Self> {
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = Argon2::default()
            .hash_password(b"dummy password for timing", &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        Ok(Self { dummy_hash })
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> Result<String, Unknown> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    }

    fn verify(&self, password: &Password, hash: &str) -> bool {
        PasswordHash::new(hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }

    fn dummy_verify(&self) {
        let _ = self.verify(&Password::unchecked("not the password"), &self.dummy_hash);
    }
}

// ---- random secrets --------------------------------------------------------

pub struct Sha256Secrets;

impl Secrets for Sha256Secrets {
    fn generate(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn digest(&self, secret: &str) -> String {
        hex::encode(Sha256::digest(secret.as_bytes()))
    }

    fn matches(&self, secret: &str, digest: &str) -> bool {
        self.digest(secret)
            .as_bytes()
            .ct_eq(digest.as_bytes())
            .into()
    }
}

// ---- JWT -------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
struct JwtClaims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    jti: String,
    /// `user` or `partner`
    typ: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// HS256 access tokens. Keys form a ring: tokens are signed with the active
/// key and carry its `kid`; any key in the ring verifies, so a new key can
/// become active while tokens signed by the previous one stay valid until
/// they expire.
pub struct JwtCodec {
    issuer: String,
    audience: String,
    ttl: Duration,
    active_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
}

impl JwtCodec {
    pub fn new(
        issuer: &str,
        audience: &str,
        ttl: Duration,
        keys: &[(String, SecretString)],
        active_kid: &str,
    ) -> anyhow::Result<Self> {
        let active = keys
            .iter()
            .find(|(kid, _)| kid == active_kid)
            .with_context(|| format!("JWT_ACTIVE_KID {active_kid:?} is not in JWT_KEYS"))?;
        anyhow::ensure!(
            active.1.expose_secret().len() >= 32,
            "JWT key {active_kid:?} must be at least 32 bytes"
        );
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
            active_kid: active_kid.to_owned(),
            encoding: EncodingKey::from_secret(active.1.expose_secret().as_bytes()),
            decoding: keys
                .iter()
                .map(|(kid, secret)| {
                    (
                        kid.clone(),
                        DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                    )
                })
                .collect(),
        })
    }
}

/// A JWT time claim; `None` when it is outside chrono's range.
fn ts(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

impl AccessTokenCodec for JwtCodec {
    fn issue(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<(String, AccessClaims), Unknown> {
        let (sub, typ, roles, scope) = match principal {
            Principal::User { id, platform_admin } => {
                let mut roles = vec!["buyer".to_owned()];
                if *platform_admin {
                    roles.push("platform_admin".to_owned());
                }
                (id.to_string(), "user", roles, None)
            }
            Principal::Partner { id, scopes } => (
                id.to_string(),
                "partner",
                vec!["partner".to_owned()],
                Some(scopes.to_string()),
            ),
        };
        let jti = Uuid::now_v7().to_string();
        let claims = JwtClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub,
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            jti: jti.clone(),
            typ: typ.to_owned(),
            roles,
            scope,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.active_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)?;
        Ok((
            token,
            AccessClaims {
                principal: principal.clone(),
                token_id: jti,
                issued_at: ts(claims.iat)
                    .ok_or_else(|| anyhow::anyhow!("iat out of range: {}", claims.iat))?,
                expires_at: ts(claims.exp)
                    .ok_or_else(|| anyhow::anyhow!("exp out of range: {}", claims.exp))?,
            },
        ))
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 0;
        // Expiry is checked below against the caller's clock.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<JwtClaims>(token, key, &validation)
            .map_err(|_| TokenError::Invalid)?;
        let c = data.claims;
        if c.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        let id = c.sub.parse::<Uuid>().map_err(|_| TokenError::Invalid)?;
        let principal = match c.typ.as_str() {
            "user" => Principal::User {
                id: UserId(id),
                platform_admin: c.roles.iter().any(|r| r == "platform_admin"),
            },
            "partner" => Principal::Partner {
                id: PartnerId(id),
                scopes: Scopes::parse(c.scope.as_deref().unwrap_or_default())
                    .map_err(|_| TokenError::Invalid)?,
            },
            _ => return Err(TokenError::Invalid),
        };
        Ok(AccessClaims {
            principal,
            token_id: c.jti,
            issued_at: ts(c.iat).ok_or(TokenError::Invalid)?,
            expires_at: ts(c.exp).ok_or(TokenError::Invalid)?,
        })
    }

    fn ttl_seconds(&self) -> i64 {
        self.ttl.num_seconds()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn codec(keys: &[(&str, &str)], active: &str) -> JwtCodec {
        let keys: Vec<(String, SecretString)> = keys
            .iter()
            .map(|(k, s)| ((*k).to_owned(), SecretString::from((*s).to_owned())))
            .collect();
        JwtCodec::new(
            "coopmart",
            "coopmart-api",
            Duration::minutes(15),
            &keys,
            active,
        )
        .unwrap()
    }

    const K1: &str = "k1-secret-k1-secret-k1-secret-k1-secret";
    const K2: &str = "k2-secret-k2-secret-k2-secret-k2-secret";

    #[test]
    fn round_trip_and_expiry() {
        let c = codec(&[("k1", K1)], "k1");
        let now = Utc::now();
        let p = Principal::User {
            id: UserId::new(),
            platform_admin: true,
        };
        let (token, claims) = c.issue(&p, now).unwrap();
        assert_eq!(c.verify(&token, now).unwrap().principal, p);
        assert_eq!(
            claims.expires_at.timestamp(),
            (now + Duration::minutes(15)).timestamp()
        );
        assert_eq!(
            c.verify(&token, now + Duration::minutes(15)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn key_rotation_keeps_old_tokens_valid() {
        let old = codec(&[("k1", K1)], "k1");
        let now = Utc::now();
        let p = Principal::Partner {
            id: PartnerId::new(),
            scopes: Scopes::parse("catalog:read").unwrap(),
        };
        let (token, _) = old.issue(&p, now).unwrap();
        let rotated = codec(&[("k1", K1), ("k2", K2)], "k2");
        assert_eq!(rotated.verify(&token, now).unwrap().principal, p);
        let (new_token, _) = rotated.issue(&p, now).unwrap();
        assert_eq!(old.verify(&new_token, now), Err(TokenError::Invalid));
        let retired = codec(&[("k2", K2)], "k2");
        assert_eq!(retired.verify(&token, now), Err(TokenError::Invalid));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let s = Sha256Secrets;
        let a = s.generate();
        assert_eq!(a.len(), 43);
        assert_ne!(a, s.generate());
        let d = s.digest(&a);
        assert!(s.matches(&a, &d));
        assert!(!s.matches("other", &d));
    }

    #[test]
    fn argon2id_hashes_verify() {
        let h = Argon2Hasher::new().unwrap();
        let pw = Password::unchecked("correct horse 1");
        let hash = h.hash(&pw).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify(&pw, &hash));
        assert!(!h.verify(&Password::unchecked("wrong"), &hash));
    }
}
