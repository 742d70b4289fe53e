//! Identity use cases: registration, the OAuth2 token endpoint (password,
//! refresh_token, client_credentials), revocation, partner clients and the
//! audit log.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::model::*;
use super::ports::*;
use crate::validation::ValidationErrors;

#[derive(Clone)]
pub struct IdentityService {
    pub users: Arc<dyn UserRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenRepository>,
    pub partners: Arc<dyn PartnerRepository>,
    pub audit: Arc<dyn AuditRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub secrets: Arc<dyn Secrets>,
    pub codec: Arc<dyn AccessTokenCodec>,
    pub refresh_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("an account with this e-mail or phone already exists")]
    Duplicate,
    #[error(transparent)]
    Unknown(#[from] Unknown),
}

/// A token request, by grant type.
#[derive(Debug, Clone)]
pub enum GrantRequest {
    Password {
        username: String,
        password: Password,
    },
    RefreshToken {
        refresh_token: String,
    },
    ClientCredentials {
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
}

/// OAuth2 token endpoint errors (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidScope(String),
    #[error("unsupported grant_type")]
    UnsupportedGrantType,
    #[error(transparent)]
    Unknown(#[from] Unknown),
}

impl GrantError {
    /// The RFC 6749 `error` value.
    pub fn oauth_code(&self) -> &'static str {
        match self {
            GrantError::InvalidRequest(_) => "invalid_request",
            GrantError::InvalidGrant(_) => "invalid_grant",
            GrantError::InvalidClient => "invalid_client",
            GrantError::InvalidScope(_) => "invalid_scope",
            GrantError::UnsupportedGrantType => "unsupported_grant_type",
            GrantError::Unknown(_) => "server_error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub principal: Principal,
}

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("partner not found")]
    NotFound,
    #[error(transparent)]
    Unknown(#[from] Unknown),
}

/// A partner and its client secret, shown once.
#[derive(Debug, Clone)]
pub struct PartnerWithSecret {
    pub partner: Partner,
    pub client_secret: String,
}

fn audit_entry(actor: Actor, action: &str, meta: &RequestMeta) -> AuditEntry {
    AuditEntry {
        actor,
        action: action.to_owned(),
        target_kind: None,
        target_id: None,
        meta: meta.clone(),
        details: json!({}),
    }
}

fn validate_partner_name(name: &str, errors: &mut ValidationErrors) -> String {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "must be 1–100 characters");
    }
    name.to_owned()
}

impl IdentityService {
    fn record(&self, entry: AuditEntry) {
        if let Err(e) = self.audit.record(&entry) {
            tracing::error!(error = %e, action = %entry.action, "audit log write failed");
        }
    }

    pub fn register(
        &self,
        input: &RegisterInput,
        meta: &RequestMeta,
    ) -> Result<User, RegisterError> {
        let valid = input.validate()?;
        let password_hash = self.hasher.hash(&valid.password)?;
        let user = self
            .users
            .create(&NewUser {
                email: valid.email,
                phone: valid.phone,
                display_name: valid.display_name,
                password_hash,
                is_platform_admin: false,
            })
            .map_err(|e| match e {
                CreateUserError::Duplicate => RegisterError::Duplicate,
                CreateUserError::Unknown(e) => RegisterError::Unknown(e),
            })?;
        let mut entry = audit_entry(Actor::User(user.id), "user.registered", meta);
        entry.target_kind = Some("user".into());
        entry.target_id = Some(user.id.to_string());
        self.record(entry);
        Ok(user)
    }

    /// Creates the platform admin from bootstrap settings when no admin
    /// exists yet. Returns the id of the account made admin, if any.
    pub fn bootstrap_admin(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<UserId>, RegisterError> {
        if self.users.any_platform_admin()? {
            return Ok(None);
        }
        let email_ok = Email::parse(email)
            .map_err(|m| ValidationErrors::single("BOOTSTRAP_ADMIN_EMAIL", m))?;
        if let Some(existing) = self.users.find_by_login(email_ok.as_str())? {
            self.users.set_platform_admin(existing.user.id)?;
            return Ok(Some(existing.user.id));
        }
        let password = Password::parse(password, Some(&email_ok), None)
            .map_err(|m| ValidationErrors::single("BOOTSTRAP_ADMIN_PASSWORD", m))?;
        let user = self
            .users
            .create(&NewUser {
                email: Some(email_ok),
                phone: None,
                display_name: "platform admin".into(),
                password_hash: self.hasher.hash(&password)?,
                is_platform_admin: true,
            })
            .map_err(|e| match e {
                CreateUserError::Duplicate => RegisterError::Duplicate,
                CreateUserError::Unknown(e) => RegisterError::Unknown(e),
            })?;
        let mut entry = audit_entry(Actor::System, "admin.bootstrapped", &RequestMeta::default());
        entry.target_kind = Some("user".into());
        entry.target_id = Some(user.id.to_string());
        self.record(entry);
        Ok(Some(user.id))
    }

    pub fn grant(
        &self,
        request: GrantRequest,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, GrantError> {
        match request {
            GrantRequest::Password { username, password } => {
                self.password_grant(&username, &password, meta, now)
            }
            GrantRequest::RefreshToken { refresh_token } => {
                self.refresh_grant(&refresh_token, meta, now)
            }
            GrantRequest::ClientCredentials {
                client_id,
                client_secret,
                scope,
            } => self.client_credentials_grant(
                &client_id,
                &client_secret,
                scope.as_deref(),
                meta,
                now,
            ),
        }
    }

    fn issue_user_tokens(
        &self,
        user: &User,
        family: TokenFamilyId,
        refresh: String,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, GrantError> {
        let principal = Principal::User {
            id: user.id,
            platform_admin: user.is_platform_admin,
        };
        let (access_token, _) = self.codec.issue(&principal, now)?;
        let _ = family;
        Ok(TokenGrant {
            access_token,
            expires_in: self.codec.ttl_seconds(),
            refresh_token: Some(refresh),
            scope: None,
            principal,
        })
    }

    fn password_grant(
        &self,
        username: &str,
        password: &Password,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, GrantError> {
        if username.trim().is_empty() || password.expose().is_empty() {
            return Err(GrantError::InvalidRequest(
                "username and password are required".into(),
            ));
        }
        let login = username.trim().to_lowercase();
        let login = Phone::parse(&login)
            .map(|p| p.as_str().to_owned())
            .unwrap_or(login);
        let found = self.users.find_by_login(&login)?;
        let verified = match &found {
            Some(c) => self.hasher.verify(password, &c.password_hash),
            None => {
                self.hasher.dummy_verify();
                false
            }
        };
        let Some(creds) = found.filter(|_| verified) else {
            let mut entry = audit_entry(Actor::Anonymous, "auth.login_failed", meta);
            entry.details = json!({"username": login});
            self.record(entry);
            return Err(GrantError::InvalidGrant("invalid username or password"));
        };
        let refresh = self.secrets.generate();
        let family = TokenFamilyId::new();
        self.refresh_tokens.insert(&NewRefreshToken {
            token_hash: self.secrets.digest(&refresh),
            family_id: family,
            user_id: creds.user.id,
            expires_at: now + self.refresh_ttl,
        })?;
        self.record(audit_entry(
            Actor::User(creds.user.id),
            "auth.login_succeeded",
            meta,
        ));
        self.issue_user_tokens(&creds.user, family, refresh, now)
    }

    fn refresh_grant(
        &self,
        presented: &str,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, GrantError> {
        if presented.is_empty() {
            return Err(GrantError::InvalidRequest(
                "refresh_token is required".into(),
            ));
        }
        let next = self.secrets.generate();
        let next_hash = self.secrets.digest(&next);
        let ttl = self.refresh_ttl;
        let replacement = move |user_id, family_id| NewRefreshToken {
            token_hash: next_hash.clone(),
            family_id,
            user_id,
            expires_at: now + ttl,
        };
        match self
            .refresh_tokens
            .rotate(&self.secrets.digest(presented), &replacement, now)?
        {
            Rotation::Rotated { user_id, family_id } => {
                let user = self
                    .users
                    .find(user_id)?
                    .ok_or(GrantError::InvalidGrant("the account no longer exists"))?;
                self.issue_user_tokens(&user, family_id, next, now)
            }
            Rotation::Reused { user_id, family_id } => {
                // A rotated token came back: either the client or a thief
                // holds a copy. Revoke the whole family; both must log in.
                let revoked = self.refresh_tokens.revoke_family(family_id, now)?;
                let mut entry =
                    audit_entry(Actor::User(user_id), "auth.token_family_revoked", meta);
                entry.target_kind = Some("token_family".into());
                entry.target_id = Some(family_id.to_string());
                entry.details =
                    json!({"reason": "refresh_token_reuse", "live_tokens_revoked": revoked});
                self.record(entry);
                Err(GrantError::InvalidGrant(
                    "refresh token reuse detected; the session is revoked",
                ))
            }
            Rotation::Invalid => Err(GrantError::InvalidGrant(
                "the refresh token is invalid, expired or revoked",
            )),
        }
    }

    fn client_credentials_grant(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, GrantError> {
        if client_id.is_empty() || client_secret.is_empty() {
            return Err(GrantError::InvalidRequest(
                "client_id and client_secret are required".into(),
            ));
        }
        let found = self.partners.find_by_client_id(client_id)?;
        let Some((partner, secret_hash)) = found.filter(|(p, h)| {
            p.status == PartnerStatus::Active && self.secrets.matches(client_secret, h)
        }) else {
            let mut entry = audit_entry(Actor::Anonymous, "auth.client_auth_failed", meta);
            entry.details = json!({"client_id": client_id});
            self.record(entry);
            return Err(GrantError::InvalidClient);
        };
        let _ = secret_hash;
        let scopes = match scope.filter(|s| !s.trim().is_empty()) {
            None => partner.scopes.clone(),
            Some(raw) => {
                let requested = Scopes::parse(raw).map_err(GrantError::InvalidScope)?;
                if !requested.is_subset(&partner.scopes) {
                    return Err(GrantError::InvalidScope(format!(
                        "requested scope exceeds the client's scopes ({})",
                        partner.scopes
                    )));
                }
                requested
            }
        };
        let principal = Principal::Partner {
            id: partner.id,
            scopes: scopes.clone(),
        };
        let (access_token, _) = self.codec.issue(&principal, now)?;
        self.record(audit_entry(
            Actor::Partner(partner.id),
            "auth.client_token_issued",
            meta,
        ));
        Ok(TokenGrant {
            access_token,
            expires_in: self.codec.ttl_seconds(),
            refresh_token: None,
            scope: Some(scopes.to_string()),
            principal,
        })
    }

    /// RFC 7009: revoking a refresh token ends its whole family (logout on
    /// that device). Unknown tokens are ignored, as the RFC requires.
    pub fn revoke(
        &self,
        token: &str,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<(), Unknown> {
        if let Some((family, user)) = self.refresh_tokens.family_of(&self.secrets.digest(token))? {
            let revoked = self.refresh_tokens.revoke_family(family, now)?;
            let mut entry = audit_entry(Actor::User(user), "auth.logout", meta);
            entry.target_kind = Some("token_family".into());
            entry.target_id = Some(family.to_string());
            entry.details = json!({"live_tokens_revoked": revoked});
            self.record(entry);
        }
        Ok(())
    }

    /// Verifies an access token. Partner tokens stop working as soon as the
    /// partner is disabled.
    pub fn authenticate(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, AuthError> {
        let claims = self.codec.verify(token, now).map_err(AuthError::Token)?;
        self.check_principal(claims)
    }

    /// Checks verified claims against current state: a partner must still be
    /// active.
    pub fn check_principal(&self, claims: AccessClaims) -> Result<AccessClaims, AuthError> {
        if let Principal::Partner { id, .. } = &claims.principal {
            let active = self
                .partners
                .find(*id)?
                .is_some_and(|p| p.status == PartnerStatus::Active);
            if !active {
                return Err(AuthError::Token(TokenError::Invalid));
            }
        }
        Ok(claims)
    }

    pub fn me(&self, id: UserId) -> Result<Option<User>, Unknown> {
        self.users.find(id)
    }

    pub fn create_partner(
        &self,
        admin: UserId,
        name: &str,
        scopes: &[String],
        meta: &RequestMeta,
    ) -> Result<PartnerWithSecret, PartnerError> {
        let mut errors = ValidationErrors::new();
        let name = validate_partner_name(name, &mut errors);
        let scopes = Scopes::parse(&scopes.join(" ")).unwrap_or_else(|m| {
            errors.add("scopes", m);
            Scopes::default()
        });
        if scopes.is_empty() && errors.is_empty() {
            errors.add("scopes", "at least one scope is required");
        }
        errors.into_result(())?;
        let client_secret = self.secrets.generate();
        let id = PartnerId::new();
        let partner = self.partners.create(&NewPartner {
            id,
            name,
            client_id: format!("cm_{}", id.as_uuid().simple()),
            secret_hash: self.secrets.digest(&client_secret),
            scopes,
            created_by: admin,
        })?;
        let mut entry = audit_entry(Actor::User(admin), "partner.created", meta);
        entry.target_kind = Some("partner".into());
        entry.target_id = Some(partner.id.to_string());
        entry.details = json!({"name": partner.name, "scopes": partner.scopes.to_string()});
        self.record(entry);
        Ok(PartnerWithSecret {
            partner,
            client_secret,
        })
    }

    pub fn rotate_partner_secret(
        &self,
        admin: UserId,
        id: PartnerId,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<PartnerWithSecret, PartnerError> {
        let client_secret = self.secrets.generate();
        let partner = self
            .partners
            .set_secret(id, &self.secrets.digest(&client_secret), now)?
            .ok_or(PartnerError::NotFound)?;
        let mut entry = audit_entry(Actor::User(admin), "partner.secret_rotated", meta);
        entry.target_kind = Some("partner".into());
        entry.target_id = Some(id.to_string());
        self.record(entry);
        Ok(PartnerWithSecret {
            partner,
            client_secret,
        })
    }

    pub fn update_partner(
        &self,
        admin: UserId,
        id: PartnerId,
        name: Option<&str>,
        scopes: Option<&[String]>,
        status: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Partner, PartnerError> {
        let mut errors = ValidationErrors::new();
        let mut patch = PartnerPatch {
            name: name.map(|n| validate_partner_name(n, &mut errors)),
            ..PartnerPatch::default()
        };
        if let Some(list) = scopes {
            match Scopes::parse(&list.join(" ")) {
                Ok(s) if !s.is_empty() => patch.scopes = Some(s),
                Ok(_) => errors.add("scopes", "at least one scope is required"),
                Err(m) => errors.add("scopes", m),
            }
        }
        patch.status = match status {
            None => None,
            Some("active") => Some(PartnerStatus::Active),
            Some("disabled") => Some(PartnerStatus::Disabled),
            Some(_) => {
                errors.add("status", "must be active or disabled");
                None
            }
        };
        errors.into_result(())?;
        let partner = self
            .partners
            .update(id, &patch)?
            .ok_or(PartnerError::NotFound)?;
        let mut entry = audit_entry(Actor::User(admin), "partner.updated", meta);
        entry.target_kind = Some("partner".into());
        entry.target_id = Some(id.to_string());
        entry.details = json!({
            "name": patch.name,
            "scopes": patch.scopes.map(|s| s.to_string()),
            "status": patch.status.map(PartnerStatus::as_str),
        });
        self.record(entry);
        Ok(partner)
    }

    /// Records an administrative action taken elsewhere (other contexts call
    /// this so every admin action lands in one log).
    pub fn record_admin_action(
        &self,
        admin: UserId,
        action: &str,
        target_kind: &str,
        target_id: &str,
        details: serde_json::Value,
        meta: &RequestMeta,
    ) {
        let mut entry = audit_entry(Actor::User(admin), action, meta);
        entry.target_kind = Some(target_kind.into());
        entry.target_id = Some(target_id.into());
        entry.details = details;
        self.record(entry);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Token(TokenError),
    #[error(transparent)]
    Unknown(#[from] Unknown),
}
