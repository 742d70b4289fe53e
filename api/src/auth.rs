//! The one authorization layer every handler uses: typed extractors for
//! "any caller", "any user", "platform admin" and "partner with scope S".
//! Object-level checks (staff of organization X, owner of order Y) happen in
//! the use cases and answer 404 for other people's objects.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::Utc;
use domain::identity::{
    AccessClaims, AuthError, PartnerId, Principal, RequestMeta, Scope, Scopes, TokenError, UserId,
};
use domain::ids::RequestId;

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::blocking;

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("an access token is required (Authorization: Bearer …)")
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::unauthorized(
            "expected Authorization: Bearer <token>",
        )),
    }
}

async fn authenticate(req: &HttpRequest) -> Result<AccessClaims, ApiError> {
    let token = bearer(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState missing"))?;
    let now = Utc::now();
    // Verifying a user token is CPU only; a partner token also checks the
    // partner is still enabled (one primary-key read).
    let claims = state
        .identity
        .codec
        .verify(&token, now)
        .map_err(token_error)?;
    if let Principal::Partner { .. } = claims.principal {
        return blocking(move || state.identity.check_principal(claims).map_err(auth_error)).await;
    }
    Ok(claims)
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Expired => ApiError::unauthorized("the access token has expired"),
        TokenError::Invalid => ApiError::unauthorized("the access token is invalid"),
    }
}

fn auth_error(e: AuthError) -> ApiError {
    match e {
        AuthError::Token(t) => token_error(t),
        AuthError::Unknown(e) => e.into(),
    }
}

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// Any authenticated caller: a user or a partner.
pub struct Caller(pub AccessClaims);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(Caller) })
    }
}

/// An authenticated user (any role).
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: UserId,
    pub platform_admin: bool,
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(&req).await?.principal {
                Principal::User { id, platform_admin } => Ok(AuthUser { id, platform_admin }),
                Principal::Partner { .. } => Err(ApiError::forbidden(
                    "user_required",
                    "this endpoint needs a user's token",
                )),
            }
        })
    }
}

/// An optional user: no `Authorization` header → `None`; a header that does
/// not carry a valid user token → 401.
#[derive(Debug, Clone, Copy)]
pub struct OptionalUser(pub Option<AuthUser>);

impl FromRequest for OptionalUser {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.headers().get(header::AUTHORIZATION).is_none() {
            return Box::pin(async { Ok(OptionalUser(None)) });
        }
        let fut = AuthUser::from_request(req, payload);
        Box::pin(async move { fut.await.map(|u| OptionalUser(Some(u))) })
    }
}

/// A platform administrator.
#[derive(Debug, Clone, Copy)]
pub struct PlatformAdmin(pub UserId);

impl FromRequest for PlatformAdmin {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(&req).await?.principal {
                Principal::User {
                    id,
                    platform_admin: true,
                } => Ok(PlatformAdmin(id)),
                _ => Err(ApiError::forbidden(
                    "forbidden",
                    "this endpoint is for platform administrators",
                )),
            }
        })
    }
}

/// A scope a partner token must carry, as a type.
pub trait RequiredScope {
    const SCOPE: Scope;
}

macro_rules! scope_marker {
    ($name:ident, $scope:expr) => {
        pub struct $name;
        impl RequiredScope for $name {
            const SCOPE: Scope = $scope;
        }
    };
}
scope_marker!(CatalogRead, Scope::CatalogRead);
scope_marker!(OrdersRead, Scope::OrdersRead);
scope_marker!(OrdersWrite, Scope::OrdersWrite);
scope_marker!(WebhooksManage, Scope::WebhooksManage);

/// Checks that a principal is a partner holding `scope`.
pub fn require_scope(principal: &Principal, scope: Scope) -> Result<(PartnerId, Scopes), ApiError> {
    match principal {
        Principal::Partner { id, scopes } if scopes.contains(scope) => Ok((*id, scopes.clone())),
        Principal::Partner { .. } => Err(ApiError::forbidden(
            "insufficient_scope",
            format!("the token lacks the {} scope", scope.as_str()),
        )),
        Principal::User { .. } => Err(ApiError::forbidden(
            "partner_required",
            "this endpoint needs a partner token",
        )),
    }
}

/// A partner whose token carries scope `S`.
pub struct PartnerWith<S: RequiredScope> {
    pub id: PartnerId,
    pub scopes: Scopes,
    _scope: PhantomData<S>,
}

impl<S: RequiredScope + 'static> FromRequest for PartnerWith<S> {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let claims = authenticate(&req).await?;
            let (id, scopes) = require_scope(&claims.principal, S::SCOPE)?;
            Ok(PartnerWith {
                id,
                scopes,
                _scope: PhantomData,
            })
        })
    }
}

/// Where the request came from: client IP and request id, for the audit
/// log and rate limits.
pub struct Meta(pub RequestMeta);

pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}

impl FromRequest for Meta {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.settings.rate_limit.trust_forwarded_for);
        std::future::ready(Ok(Meta(RequestMeta {
            ip: client_ip(req, trust),
            request_id: req.extensions().get::<RequestId>().map(|r| r.to_string()),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_checks() {
        let partner = Principal::Partner {
            id: PartnerId::new(),
            scopes: Scopes::parse("catalog:read orders:read").unwrap_or_default(),
        };
        assert!(require_scope(&partner, Scope::CatalogRead).is_ok());
        let err = require_scope(&partner, Scope::OrdersWrite).err();
        assert_eq!(
            err.map(|e| (e.status().as_u16(), e.code())),
            Some((403, "insufficient_scope"))
        );
        let user = Principal::User {
            id: UserId::new(),
            platform_admin: true,
        };
        assert_eq!(
            require_scope(&user, Scope::CatalogRead)
                .err()
                .map(|e| e.code()),
            Some("partner_required")
        );
    }
}
