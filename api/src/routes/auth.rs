//! Accounts and the OAuth2 token endpoint.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::identity::{GrantError, GrantRequest, Password, RegisterError, RegisterInput, User};
use infra::rate_limit::Decision;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthUser, Meta};
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::telemetry::blocking;

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// E-mail address; `email` or `phone` is required.
    #[schema(example = "li@example.com")]
    pub email: Option<String>,
    /// Mainland China mobile number (11 digits, optional `+86`).
    #[schema(example = "13800000000")]
    pub phone: Option<String>,
    /// 10–128 characters with at least one letter and one digit.
    #[schema(example = "s3cure-passw0rd")]
    pub password: String,
    #[schema(example = "李明")]
    pub display_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    pub id: uuid::Uuid,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            email: u.email,
            phone: u.phone,
            display_name: u.display_name,
            created_at: u.created_at,
        }
    }
}

async fn limit(state: &AppState, key: String, max: u32) -> Result<(), ApiError> {
    match state.rate_limiter.hit(&key, max).await {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after_secs } => Err(ApiError::rate_limited(retry_after_secs)),
    }
}

async fn limit_ip(state: &AppState, endpoint: &str, meta: &Meta) -> Result<(), ApiError> {
    let ip = meta.0.ip.as_deref().unwrap_or("unknown");
    limit(
        state,
        format!("ip:{endpoint}:{ip}"),
        state.settings.rate_limit.per_ip,
    )
    .await
}

/// Register an account (every account can buy).
#[utoipa::path(
    tag = "identity",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserResponse),
        (status = 409, description = "`account_exists`: e-mail or phone already registered", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` (see Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    meta: Meta,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "register", &meta).await?;
    let body = body.into_inner();
    let input = RegisterInput {
        email: body.email,
        phone: body.phone,
        password: body.password,
        display_name: body.display_name,
    };
    let user = blocking(move || {
        state
            .identity
            .register(&input, &meta.0)
            .map_err(|e| match e {
                RegisterError::Validation(v) => ApiError::validation(v),
                RegisterError::Duplicate => ApiError::conflict(
                    "account_exists",
                    "an account with this e-mail or phone already exists",
                ),
                RegisterError::Unknown(e) => e.into(),
            })
    })
    .await?;
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
}

/// Token request fields (RFC 6749), as form or JSON.
#[derive(Deserialize, ToSchema, Default)]
pub struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    #[schema(schema_with = contract::grant_type)]
    pub grant_type: String,
    /// E-mail or phone (password grant).
    pub username: Option<String>,
    pub password: Option<String>,
    pub refresh_token: Option<String>,
    /// Partner client id (client_credentials; or HTTP Basic).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Space-separated scopes (client_credentials).
    pub scope: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

fn oauth_error(e: GrantError) -> ApiError {
    if let GrantError::Unknown(e) = e {
        return e.into();
    }
    let code = e.oauth_code();
    let description = e.to_string();
    let status = match e {
        GrantError::InvalidClient => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, code, description.clone())
        .with_extra("error", serde_json::json!(code))
        .with_extra("error_description", serde_json::json!(description))
}

/// Parses an OAuth2 body sent as `application/x-www-form-urlencoded` (RFC
/// 6749) or JSON; other content types are 415.
fn form_or_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<Result<T, String>, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        Ok(serde_urlencoded::from_bytes(body).map_err(|e| format!("invalid form body: {e}")))
    } else if content_type.starts_with("application/json") {
        Ok(serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}")))
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected application/x-www-form-urlencoded or application/json",
        ))
    }
}

/// Parses a token request from a form or JSON body; client credentials may
/// also come as HTTP Basic.
fn parse_token_request(req: &HttpRequest, body: &[u8]) -> Result<TokenRequest, ApiError> {
    let mut parsed: TokenRequest =
        form_or_json(req, body)?.map_err(|m| oauth_error(GrantError::InvalidRequest(m)))?;
    if let Some(basic) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| oauth_error(GrantError::InvalidClient))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| oauth_error(GrantError::InvalidClient))?;
        parsed.client_id = Some(id.to_owned());
        parsed.client_secret = Some(secret.to_owned());
    }
    Ok(parsed)
}

/// OAuth2 token endpoint: `password`, `refresh_token`, `client_credentials`.
///
/// Errors use the RFC 6749 codes (`invalid_request`, `invalid_grant`,
/// `invalid_client`, `invalid_scope`, `unsupported_grant_type`) as `code`,
/// and also carry `error` / `error_description` for OAuth2 client libraries.
#[utoipa::path(
    tag = "identity",
    // One documented content type, the one RFC 6749 names: generated clients
    // (openapi-python-client 0.29) cannot express a body of two types. A JSON
    // body with the same fields is accepted as well.
    request_body(
        content = TokenRequest,
        content_type = "application/x-www-form-urlencoded",
        description = "Form fields (RFC 6749); a JSON object with the same fields is accepted too"
    ),
    responses(
        (status = 200, description = "Tokens issued", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `invalid_scope`, `unsupported_grant_type`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` (see Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: Meta,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "token", &meta).await?;
    let parsed = parse_token_request(&req, &body)?;
    let account = match parsed.grant_type.as_str() {
        "password" => parsed.username.as_deref().map(|u| u.trim().to_lowercase()),
        "client_credentials" => parsed.client_id.clone(),
        _ => None,
    };
    if let Some(account) = account.filter(|a| !a.is_empty()) {
        limit(
            &state,
            format!("acct:token:{account}"),
            state.settings.rate_limit.per_account,
        )
        .await?;
    }
    let grant = match parsed.grant_type.as_str() {
        "password" => GrantRequest::Password {
            username: parsed.username.unwrap_or_default(),
            password: Password::unchecked(&parsed.password.unwrap_or_default()),
        },
        "refresh_token" => GrantRequest::RefreshToken {
            refresh_token: parsed.refresh_token.unwrap_or_default(),
        },
        "client_credentials" => GrantRequest::ClientCredentials {
            client_id: parsed.client_id.unwrap_or_default(),
            client_secret: parsed.client_secret.unwrap_or_default(),
            scope: parsed.scope,
        },
        "" => {
            return Err(oauth_error(GrantError::InvalidRequest(
                "grant_type is required".into(),
            )))
        }
        _ => return Err(oauth_error(GrantError::UnsupportedGrantType)),
    };
    let issued = blocking(move || {
        state
            .identity
            .grant(grant, &meta.0, Utc::now())
            .map_err(oauth_error)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token,
            scope: issued.scope,
        }))
}

#[derive(Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// The refresh token to revoke (its whole family is revoked).
    pub token: String,
}

/// Revoke a refresh token and every token rotated from the same login
/// (RFC 7009: unknown tokens also answer 200).
#[utoipa::path(
    tag = "identity",
    request_body(
        content = RevokeRequest,
        content_type = "application/x-www-form-urlencoded",
        description = "Form fields (RFC 7009); a JSON object with the same fields is accepted too"
    ),
    responses(
        (status = 200, description = "Revoked (or unknown)"),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: Meta,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let parsed: Result<RevokeRequest, String> = form_or_json(&req, &body)?;
    let presented = parsed
        .map_err(|e| {
            oauth_error(GrantError::InvalidRequest(format!(
                "token is required: {e}"
            )))
        })?
        .token;
    blocking(move || {
        state
            .identity
            .revoke(&presented, &meta.0, Utc::now())
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::Ok().finish())
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub id: uuid::Uuid,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    /// `buyer` always; `platform_admin` for administrators.
    pub roles: Vec<&'static str>,
    pub created_at: DateTime<Utc>,
}

/// The calling user.
#[utoipa::path(
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = MeResponse),
        (status = 403, description = "`user_required`: a partner token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let found = blocking(move || state.identity.me(user.id)).await?;
    let u = found.ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
    let mut roles = vec!["buyer"];
    if u.is_platform_admin {
        roles.push("platform_admin");
    }
    Ok(HttpResponse::Ok().json(MeResponse {
        id: u.id.0,
        email: u.email,
        phone: u.phone,
        display_name: u.display_name,
        roles,
        created_at: u.created_at,
    }))
}
