//! Demo data for `scripts/dev run`, loaded idempotently (running it twice
//! changes nothing).

use domain::identity::{RegisterError, RegisterInput, RequestMeta};

use crate::state::AppState;

/// Demo accounts: (email, password, display name).
pub const DEMO_USERS: [(&str, &str, &str); 3] = [
    ("buyer@coopmart.local", "Harvest-Melon-2026", "王芳"),
    ("coop-admin@coopmart.local", "Golden-Rice-2026", "李合心"),
    ("station@coopmart.local", "Village-Pickup-2026", "赵站长"),
];

pub fn run(state: &AppState) -> anyhow::Result<()> {
    let meta = RequestMeta::default();
    let mut created = 0;
    for (email, password, name) in DEMO_USERS {
        let input = RegisterInput {
            email: Some(email.to_owned()),
            phone: None,
            password: password.to_owned(),
            display_name: Some(name.to_owned()),
        };
        match state.identity.register(&input, &meta) {
            Ok(_) => created += 1,
            Err(RegisterError::Duplicate) => {}
            Err(e) => return Err(anyhow::anyhow!("seeding {email}: {e}")),
        }
    }
    tracing::info!(created, "demo accounts ready");
    Ok(())
}
