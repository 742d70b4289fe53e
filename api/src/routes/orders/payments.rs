//! Payments: creating one, the provider's signed notification, the sandbox.

use super::*;

#[derive(Serialize, ToSchema)]
pub struct PaymentResponse {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_fen: i64,
    /// `pending`, `succeeded`, `failed`, `refunded`
    pub status: &'static str,
    pub provider: String,
    pub created_at: DateTime<Utc>,
}

impl From<Payment> for PaymentResponse {
    fn from(p: Payment) -> Self {
        Self {
            id: p.id.0,
            order_id: p.order_id.0,
            amount_fen: p.amount.0,
            status: p.status.as_str(),
            provider: p.provider,
            created_at: p.created_at,
        }
    }
}

/// Start paying an order through the configured provider.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 201, description = "Payment created; the provider notifies its result", body = PaymentResponse),
        (status = 409, description = "`invalid_transition` (paid, cancelled or expired)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/payments")]
pub async fn create_payment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let buyer = buyer(&caller, Scope::OrdersWrite)?;
    let id = OrderId(id.into_inner());
    let p = blocking(move || state.orders.start_payment(buyer, id, Utc::now())).await?;
    Ok(HttpResponse::Created().json(PaymentResponse::from(p)))
}

/// The provider's `X-Pay-Timestamp` and `X-Pay-Signature` (empty when
/// missing: verification then refuses them).
pub(crate) fn provider_signature(req: &HttpRequest) -> (String, String) {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (header("x-pay-timestamp"), header("x-pay-signature"))
}

/// A provider notification that does not verify: 400 with a stable code.
pub(crate) fn notify_error(e: domain::orders::NotifyError) -> ApiError {
    use domain::orders::NotifyError::*;
    let code = match e {
        BadSignature => "invalid_signature",
        Stale => "stale_notification",
        Malformed => "malformed_notification",
    };
    tracing::warn!(error = %e, "provider notification refused");
    ApiError::bad_request(code, e.to_string())
}

#[derive(Serialize, ToSchema)]
pub struct NotifyResponse {
    /// `paid`, `failed`, `refunded`, `already_processed`
    pub result: &'static str,
}

/// Payment provider → coopmart (public, signed): `X-Pay-Timestamp` and
/// `X-Pay-Signature: hex(hmac-sha256(secret, "<timestamp>.<body>"))`.
/// Stale (> 5 min) or tampered notifications are refused; repeats are
/// no-ops; a payment for an expired order is refunded, not applied.
#[utoipa::path(
    tag = "orders",
    request_body(content = String, content_type = "application/json", description = "{payment_id, status: succeeded|failed, amount_fen}"),
    params(
        ("X-Pay-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Pay-Signature" = String, Header, description = "hex HMAC-SHA256 of \"<timestamp>.<body>\""),
    ),
    responses(
        (status = 200, description = "Processed", body = NotifyResponse),
        (status = 400, description = "`invalid_signature`, `stale_notification`, `malformed_notification`, `amount_mismatch`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: unknown payment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/payments/notify")]
pub async fn payment_notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (ts, sig) = provider_signature(&req);
    let now = Utc::now();
    let notification = state
        .orders
        .gateway
        .verify(&ts, &sig, &body, now)
        .map_err(notify_error)?;
    let applied = blocking(move || state.orders.apply_notification(&notification, now)).await?;
    let result = match applied {
        PaymentApplied::Paid => "paid",
        PaymentApplied::Failed => "failed",
        PaymentApplied::RefundDue(_) => "refunded",
        PaymentApplied::AlreadyProcessed => "already_processed",
        PaymentApplied::NotFound => return Err(ApiError::not_found()),
        PaymentApplied::AmountMismatch => {
            return Err(ApiError::bad_request(
                "amount_mismatch",
                "the notified amount differs from the payment",
            ))
        }
    };
    Ok(HttpResponse::Ok().json(NotifyResponse { result }))
}

#[derive(Serialize, ToSchema)]
pub struct SandboxResponse {
    pub payment_id: Uuid,
    /// HTTP status of coopmart's notify endpoint.
    pub notify_status: u16,
    #[schema(value_type = Object)]
    pub notify_body: serde_json::Value,
}

pub(crate) async fn sandbox_outcome(
    state: web::Data<AppState>,
    id: Uuid,
    succeeded: bool,
) -> Result<HttpResponse, ApiError> {
    let Some(sandbox) = state.sandbox.clone() else {
        return Err(ApiError::not_found());
    };
    let pid = PaymentId(id);
    let s = state.clone();
    let payment = blocking(move || s.orders.payment(pid)).await?;
    let (ts, sig, body) = sandbox
        .notification(&payment, succeeded, Utc::now())
        .map_err(ApiError::internal)?;
    let (notify_status, notify_body) =
        send_to_notify(&state, "payments/notify", ts, sig, body).await?;
    Ok(HttpResponse::Ok().json(SandboxResponse {
        payment_id: id,
        notify_status,
        notify_body,
    }))
}

/// Sends a signed provider notification to this API's `path` (under
/// `/api/v1/`), as the provider would; returns its status and JSON answer.
pub(crate) async fn send_to_notify(
    state: &AppState,
    path: &str,
    ts: i64,
    sig: String,
    body: Vec<u8>,
) -> Result<(u16, serde_json::Value), ApiError> {
    let res = state
        .http
        .post(format!("{}/api/v1/{path}", state.public_base_url))
        .header("content-type", "application/json")
        .header("x-pay-timestamp", ts.to_string())
        .header("x-pay-signature", sig)
        .body(body)
        .send()
        .await
        .map_err(ApiError::unavailable)?;
    let status = res.status().as_u16();
    // The notify endpoints always answer JSON (a result or a problem); a
    // body that is not JSON is a failure to report, not a null.
    let answer = res
        .json::<serde_json::Value>()
        .await
        .map_err(ApiError::internal)?;
    Ok((status, answer))
}

/// Sandbox provider: the buyer paid. The sandbox sends its signed
/// notification to `/api/v1/payments/notify`, as a real provider would.
#[utoipa::path(
    tag = "sandbox",
    params(("payment_id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "Notification sent; its answer", body = SandboxResponse),
        (status = 404, description = "`not_found` (or the sandbox is off)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sandbox/payments/{payment_id}/succeed")]
pub async fn sandbox_succeed(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    sandbox_outcome(state, id.into_inner(), true).await
}

/// Sandbox provider: the payment failed (notification sent likewise).
#[utoipa::path(
    tag = "sandbox",
    params(("payment_id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "Notification sent; its answer", body = SandboxResponse),
        (status = 404, description = "`not_found` (or the sandbox is off)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sandbox/payments/{payment_id}/fail")]
pub async fn sandbox_fail(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    sandbox_outcome(state, id.into_inner(), false).await
}
