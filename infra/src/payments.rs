//! The built-in `sandbox` payment provider. It behaves like a real one
//! (WeChat Pay, Alipay): the API creates a payment, the provider later
//! sends a signed notification — `X-Pay-Timestamp: <unix>` and
//! `X-Pay-Signature: hex(hmac-sha256(secret, "<timestamp>.<body>"))` — to
//! `POST /api/v1/payments/notify`, which must verify signature and freshness.
//! After-sales refunds likewise: the API asks for a refund, the provider
//! confirms it with a notification signed the same way to
//! `POST /api/v1/refunds/notify`.

use chrono::{DateTime, Utc};
use domain::after_sales::{RefundNotification, RefundRequest, RefundRequestId};
use domain::money::Fen;
use domain::orders::{
    NotifyError, Payment, PaymentGateway, PaymentId, PaymentNotification, SellerOrder, Unknown,
};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Notifications older or newer than this are refused (replay window).
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, Serialize, Deserialize)]
pub struct NotificationBody {
    pub payment_id: uuid::Uuid,
    /// `succeeded` or `failed`
    pub status: String,
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundNotificationBody {
    pub refund_id: uuid::Uuid,
    /// `succeeded` or `failed`
    pub status: String,
    pub amount_fen: i64,
}

pub struct SandboxGateway {
    secret: SecretString,
}

impl SandboxGateway {
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    fn mac(&self) -> Option<Hmac<Sha256>> {
        Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()).ok()
    }

    /// The signature a notification with `timestamp` and `body` carries.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let Some(mut mac) = self.mac() else {
            return String::new();
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    /// A signed notification: (timestamp, signature, body).
    pub fn notification(
        &self,
        payment: &Payment,
        succeeded: bool,
        now: DateTime<Utc>,
    ) -> Result<(i64, String, Vec<u8>), serde_json::Error> {
        let body = serde_json::to_vec(&NotificationBody {
            payment_id: payment.id.0,
            status: if succeeded { "succeeded" } else { "failed" }.to_owned(),
            amount_fen: payment.amount.0,
        })?;
        let ts = now.timestamp();
        Ok((ts, self.sign(ts, &body), body))
    }

    /// A signed refund notification: (timestamp, signature, body).
    pub fn refund_notification(
        &self,
        refund: &RefundRequest,
        succeeded: bool,
        now: DateTime<Utc>,
    ) -> Result<(i64, String, Vec<u8>), serde_json::Error> {
        let body = serde_json::to_vec(&RefundNotificationBody {
            refund_id: refund.id.0,
            status: if succeeded { "succeeded" } else { "failed" }.to_owned(),
            amount_fen: refund.amount.0,
        })?;
        let ts = now.timestamp();
        Ok((ts, self.sign(ts, &body), body))
    }

    /// Checks signature and freshness; returns the body.
    fn verified<'b>(
        &self,
        timestamp: &str,
        signature: &str,
        body: &'b [u8],
        now: DateTime<Utc>,
    ) -> Result<&'b [u8], NotifyError> {
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| NotifyError::BadSignature)?;
        let sig = hex::decode(signature.trim()).map_err(|_| NotifyError::BadSignature)?;
        let mut mac = self.mac().ok_or(NotifyError::BadSignature)?;
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // constant-time comparison
        mac.verify_slice(&sig)
            .map_err(|_| NotifyError::BadSignature)?;
        if (now.timestamp() - ts).abs() > MAX_SKEW_SECS {
            return Err(NotifyError::Stale);
        }
        Ok(body)
    }
}

fn succeeded(status: &str) -> Result<bool, NotifyError> {
    match status {
        "succeeded" => Ok(true),
        "failed" => Ok(false),
        _ => Err(NotifyError::Malformed),
    }
}

impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn verify(
        &self,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentNotification, NotifyError> {
        let body = self.verified(timestamp, signature, body, now)?;
        let n: NotificationBody =
            serde_json::from_slice(body).map_err(|_| NotifyError::Malformed)?;
        Ok(PaymentNotification {
            payment_id: PaymentId(n.payment_id),
            succeeded: succeeded(&n.status)?,
            amount_fen: n.amount_fen,
        })
    }

    fn refund(&self, payment: &Payment) -> Result<(), Unknown> {
        tracing::info!(payment_id = %payment.id, amount_fen = payment.amount.0, "sandbox refund issued");
        Ok(())
    }

    fn refund_seller_order(&self, so: &SellerOrder, amount: Fen) -> Result<(), Unknown> {
        tracing::info!(seller_order_id = %so.id, order_id = %so.order_id, amount_fen = amount.0, "sandbox refund issued");
        Ok(())
    }

    fn request_refund(&self, refund: &RefundRequest) -> Result<(), Unknown> {
        // The sandbox confirms when told to (`POST /sandbox/refunds/{id}/succeed`).
        tracing::info!(refund_id = %refund.id, amount_fen = refund.amount.0, "sandbox refund requested");
        Ok(())
    }

    fn verify_refund(
        &self,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<RefundNotification, NotifyError> {
        let body = self.verified(timestamp, signature, body, now)?;
        let n: RefundNotificationBody =
            serde_json::from_slice(body).map_err(|_| NotifyError::Malformed)?;
        Ok(RefundNotification {
            refund_id: RefundRequestId(n.refund_id),
            succeeded: succeeded(&n.status)?,
            amount_fen: n.amount_fen,
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use domain::orders::{OrderId, PaymentStatus};

    fn gateway() -> SandboxGateway {
        SandboxGateway::new(SecretString::from("sandbox-secret".to_owned()))
    }

    fn payment() -> Payment {
        Payment {
            id: PaymentId::new(),
            order_id: OrderId::new(),
            amount: Fen(6800),
            provider: "sandbox".into(),
            status: PaymentStatus::Pending,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn signed_notifications_verify() {
        let g = gateway();
        let p = payment();
        let now = Utc::now();
        let (ts, sig, body) = g.notification(&p, true, now).expect("serialises");
        let n = g.verify(&ts.to_string(), &sig, &body, now);
        assert_eq!(
            n.map(|n| (n.payment_id, n.succeeded, n.amount_fen)),
            Ok((p.id, true, 6800))
        );
    }

    #[test]
    fn tampered_stale_and_foreign_notifications_fail() {
        let g = gateway();
        let p = payment();
        let now = Utc::now();
        let (ts, sig, body) = g.notification(&p, true, now).expect("serialises");
        let mut tampered = body.clone();
        let text = String::from_utf8(tampered.clone())
            .unwrap_or_default()
            .replace("6800", "1");
        tampered = text.into_bytes();
        assert_eq!(
            g.verify(&ts.to_string(), &sig, &tampered, now),
            Err(NotifyError::BadSignature)
        );
        assert_eq!(
            g.verify(&(ts + 1).to_string(), &sig, &body, now),
            Err(NotifyError::BadSignature)
        );
        let later = now + chrono::Duration::seconds(MAX_SKEW_SECS + 1);
        assert_eq!(
            g.verify(&ts.to_string(), &sig, &body, later),
            Err(NotifyError::Stale)
        );
        let other = SandboxGateway::new(SecretString::from("other".to_owned()));
        assert_eq!(
            other.verify(&ts.to_string(), &sig, &body, now),
            Err(NotifyError::BadSignature)
        );
    }

    #[test]
    fn refund_notifications_verify_and_are_not_payment_ones() {
        let g = gateway();
        let now = Utc::now();
        let r = RefundRequest {
            id: RefundRequestId::new(),
            seller_order_id: domain::orders::SellerOrderId::new(),
            order_id: OrderId::new(),
            seller_id: domain::coop::OrgId::new(),
            buyer: domain::orders::Buyer::User(domain::identity::UserId::new()),
            origin: domain::after_sales::RefundOrigin::Buyer,
            order_item_id: None,
            quantity: None,
            amount: Fen(1200),
            reason: "坏了".into(),
            photo_urls: vec![],
            status: domain::after_sales::RefundStatus::Approved,
            note: None,
            parts: vec![],
            commission_returned: None,
            after_completion: None,
            refunded_at: None,
            created_at: now,
            updated_at: now,
        };
        let (ts, sig, body) = g.refund_notification(&r, true, now).expect("serialises");
        let n = g.verify_refund(&ts.to_string(), &sig, &body, now);
        assert_eq!(
            n.map(|n| (n.refund_id, n.succeeded, n.amount_fen)),
            Ok((r.id, true, 1200))
        );
        assert_eq!(
            g.verify(&ts.to_string(), &sig, &body, now),
            Err(NotifyError::Malformed)
        );
        let (ts, sig, body) = g.notification(&payment(), true, now).expect("serialises");
        assert_eq!(
            g.verify_refund(&ts.to_string(), &sig, &body, now),
            Err(NotifyError::Malformed)
        );
    }
}
