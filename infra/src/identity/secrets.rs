//! Password hashing (argon2id) and random secrets (SHA-256 at rest).

use super::*;

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
