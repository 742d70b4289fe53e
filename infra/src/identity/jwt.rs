//! Access tokens: HS256 JWTs with a key ring.

use super::*;

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
pub(crate) fn ts(secs: i64) -> Option<DateTime<Utc>> {
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
