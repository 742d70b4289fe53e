//! Identity value objects and rules.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::typed_id;
use crate::validation::ValidationErrors;

typed_id!(
    /// A user account (every user is a buyer; some are staff or members).
    UserId
);
typed_id!(
    /// A partner (mall integration) client.
    PartnerId
);
typed_id!(
    /// A chain of refresh tokens descending from one login.
    TokenFamilyId
);

/// A normalised (trimmed, lower-case) e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if s.len() > 254 {
            return Err("is longer than 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("is not an e-mail address");
        };
        let ok = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(s))
        } else {
            Err("is not an e-mail address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mainland China mobile number: 11 digits starting `1[3-9]`, stored
/// without the `+86` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let compact: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        let b = digits.as_bytes();
        let ok = b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1]);
        if ok {
            Ok(Self(digits.to_owned()))
        } else {
            Err("is not a mainland China mobile number (11 digits starting 13–19)")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy. Never printed: `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    /// Policy: 10–128 characters, at least one letter and one digit, and not
    /// containing the account's e-mail local part or phone number.
    pub fn parse(
        raw: &str,
        email: Option<&Email>,
        phone: Option<&Phone>,
    ) -> Result<Self, &'static str> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err("must be at least 10 characters");
        }
        if n > Self::MAX_CHARS {
            return Err("must be at most 128 characters");
        }
        if !raw.chars().any(char::is_alphabetic) || !raw.chars().any(|c| c.is_ascii_digit()) {
            return Err("must contain at least one letter and one digit");
        }
        let lower = raw.to_lowercase();
        if let Some(local) = email.and_then(|e| e.as_str().split('@').next()) {
            if local.len() >= 3 && lower.contains(local) {
                return Err("must not contain the e-mail address");
            }
        }
        if let Some(p) = phone {
            if raw.contains(p.as_str()) {
                return Err("must not contain the phone number");
            }
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password taken as typed, to be checked against a stored hash.
    pub fn unchecked(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What a partner client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "catalog:read")]
    CatalogRead,
    #[serde(rename = "orders:read")]
    OrdersRead,
    #[serde(rename = "orders:write")]
    OrdersWrite,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::CatalogRead,
        Scope::OrdersRead,
        Scope::OrdersWrite,
        Scope::WebhooksManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CatalogRead => "catalog:read",
            Scope::OrdersRead => "orders:read",
            Scope::OrdersWrite => "orders:write",
            Scope::WebhooksManage => "webhooks:manage",
        }
    }
}

impl FromStr for Scope {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s).ok_or(())
    }
}

/// A set of scopes, written space-separated on the wire (RFC 6749 §3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(pub BTreeSet<Scope>);

impl Scopes {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for part in raw.split_whitespace() {
            set.insert(
                part.parse::<Scope>()
                    .map_err(|_| format!("unknown scope {part:?}"))?,
            );
        }
        Ok(Self(set))
    }

    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_vec(&self) -> Vec<Scope> {
        self.0.iter().copied().collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&parts.join(" "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub is_platform_admin: bool,
    pub created_at: DateTime<Utc>,
}

/// A user with the stored password hash (never leaves the domain).
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub display_name: String,
    pub password_hash: String,
    pub is_platform_admin: bool,
}

/// Registration input as received.
#[derive(Clone)]
pub struct RegisterInput {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password: String,
    pub display_name: Option<String>,
}

/// Registration input that passed validation.
#[derive(Debug)]
pub struct ValidRegistration {
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub password: Password,
    pub display_name: String,
}

impl RegisterInput {
    /// Validates every field at once.
    pub fn validate(&self) -> Result<ValidRegistration, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = match self.email.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(raw) => Email::parse(raw).map_err(|m| errors.add("email", m)).ok(),
            None => None,
        };
        let phone = match self.phone.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(raw) => Phone::parse(raw).map_err(|m| errors.add("phone", m)).ok(),
            None => None,
        };
        if self.email.as_deref().is_none_or(|s| s.trim().is_empty())
            && self.phone.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            errors.add("email", "an e-mail address or a phone number is required");
        }
        let password = Password::parse(&self.password, email.as_ref(), phone.as_ref())
            .map_err(|m| errors.add("password", m))
            .ok();
        let display_name = self
            .display_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                email
                    .as_ref()
                    .and_then(|e| e.as_str().split('@').next().map(str::to_owned))
            })
            .or_else(|| phone.as_ref().map(|p| format!("用户{}", &p.as_str()[7..])))
            .unwrap_or_default();
        if display_name.chars().count() > 64 {
            errors.add("display_name", "must be at most 64 characters");
        }
        match (errors.is_empty(), password) {
            (true, Some(password)) => Ok(ValidRegistration {
                email,
                phone,
                password,
                display_name,
            }),
            _ => Err(errors),
        }
    }
}

/// Who is calling, as proven by an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User { id: UserId, platform_admin: bool },
    Partner { id: PartnerId, scopes: Scopes },
}

/// The claims of an access token, independent of the token format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub principal: Principal,
    pub token_id: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerStatus {
    Active,
    Disabled,
}

impl PartnerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Active => "active",
            PartnerStatus::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub client_id: String,
    pub scopes: Scopes,
    pub status: PartnerStatus,
    pub created_at: DateTime<Utc>,
    pub secret_rotated_at: DateTime<Utc>,
}

/// Who did something, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User(UserId),
    Partner(PartnerId),
    System,
}

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: Actor,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub meta: RequestMeta,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: uuid::Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<uuid::Uuid>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Li@Example.COM ").map(|e| e.0),
            Ok("li@example.com".into())
        );
        for bad in [
            "",
            "li",
            "li@",
            "@example.com",
            "li@example",
            "l i@example.com",
            "a@b@c.com",
            "li@.com",
            "li@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_are_mainland_mobiles() {
        assert_eq!(
            Phone::parse("13800000000").map(|p| p.0),
            Ok("13800000000".into())
        );
        assert_eq!(
            Phone::parse("+86 138-0000-0000").map(|p| p.0),
            Ok("13800000000".into())
        );
        for bad in [
            "1380000000",
            "138000000000",
            "12800000000",
            "23800000000",
            "1380000000a",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        let email = Email::parse("wang@example.com").ok();
        let phone = Phone::parse("13912345678").ok();
        assert!(Password::parse("s3cure-pass", email.as_ref(), None).is_ok());
        assert!(Password::parse("short1", None, None).is_err());
        assert!(Password::parse("onlyletters", None, None).is_err());
        assert!(Password::parse("1234567890", None, None).is_err());
        assert!(Password::parse("wang12345678", email.as_ref(), None).is_err());
        assert!(Password::parse("x13912345678", None, phone.as_ref()).is_err());
        assert!(Password::parse(&"a1".repeat(65), None, None).is_err());
        assert!(Password::parse("密码很安全123456", None, None).is_ok());
        assert_eq!(
            format!("{:?}", Password::unchecked("hunter2")),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn registration_reports_every_field() {
        let input = RegisterInput {
            email: Some("nope".into()),
            phone: Some("123".into()),
            password: "short".into(),
            display_name: None,
        };
        let errors = input.validate().err().map(|e| e.0).unwrap_or_default();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "phone", "password"]);

        let none = RegisterInput {
            email: None,
            phone: None,
            password: "s3cure-pass".into(),
            display_name: None,
        };
        assert!(none.validate().is_err());

        let ok = RegisterInput {
            email: None,
            phone: Some("13800001234".into()),
            password: "s3cure-pass".into(),
            display_name: None,
        }
        .validate();
        assert_eq!(ok.map(|v| v.display_name).ok(), Some("用户1234".to_owned()));
    }

    #[test]
    fn scopes_parse_and_print() {
        let s = Scopes::parse("orders:write catalog:read").unwrap_or_default();
        assert_eq!(s.to_string(), "catalog:read orders:write");
        assert!(s.contains(Scope::OrdersWrite));
        assert!(Scopes::parse("orders:delete").is_err());
        let all = Scopes(Scope::ALL.into_iter().collect());
        assert!(s.is_subset(&all));
        assert!(!all.is_subset(&s));
    }
}
