//! The mail templates, kept as files under `templates/mail/` (subject,
//! plain text, HTML; Chinese first, English second) and built into the
//! binary, so a deployed server cannot miss one.

use domain::notifications::MailTemplate;

macro_rules! template {
    ($name:literal) => {
        MailTemplate {
            name: $name,
            subject: include_str!(concat!("../../templates/mail/", $name, ".subject")),
            text: include_str!(concat!("../../templates/mail/", $name, ".txt")),
            html: include_str!(concat!("../../templates/mail/", $name, ".html")),
        }
    };
}

pub const TEMPLATES: &[MailTemplate] = &[
    template!("order_confirmation"),
    template!("new_order"),
    template!("membership_decision"),
    template!("statement_issued"),
    template!("after_sales_decision"),
];

/// The template called `name`.
pub fn template(name: &str) -> Option<&'static MailTemplate> {
    TEMPLATES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template an event can name exists, and renders with the fields
    /// its events carry.
    #[test]
    fn every_mail_an_event_sends_has_a_template_that_renders() {
        for (event_type, _) in domain::notifications::EVENT_TYPES {
            for (name, _) in domain::notifications::mails_for(event_type) {
                let t = template(name).unwrap_or_else(|| panic!("template {name}"));
                let payload = serde_json::json!({
                    "number": "CM1", "total_fen": 100, "application_id": "a", "status": "approved",
                    "reason": "", "statement_id": "s", "gross_fen": 1, "commission_fen": 1,
                    "refunds_fen": 0, "carried_over_fen": 0, "net_payable_fen": 0,
                    "amount_fen": 5, "note": "",
                });
                let e = domain::notifications::Event {
                    id: uuid::Uuid::now_v7(),
                    seq: 1,
                    event_type: (*event_type).to_owned(),
                    version: 1,
                    partner_id: None,
                    public: false,
                    payload,
                    created_at: chrono::Utc::now(),
                };
                let m = domain::notifications::compose_mail(t, &e, "x@example.com");
                assert!(m.is_ok(), "{name}: {m:?}");
            }
        }
    }
}
