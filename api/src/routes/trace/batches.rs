//! `POST /trace/batches` and `POST /trace/batches/{code}/events`: the
//! producer's staff open batches and record what happened to them.

use super::*;

/// Open a production batch (staff of the producer). Its code is short,
/// unambiguous and printed on labels; listings name it in
/// `trace_batch_code`.
#[utoipa::path(
    tag = "trace",
    security(("bearer" = [])),
    request_body = CreateBatchRequest,
    responses(
        (status = 201, description = "Opened", body = BatchResponse),
        (status = 403, description = "`forbidden`: not staff of the producer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/trace/batches")]
pub async fn create_batch(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateBatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input();
    let s = state.clone();
    let batch = blocking(move || s.trace.create_batch(user.id, &input, Utc::now())).await?;
    Ok(HttpResponse::Created().json(BatchResponse::of(&batch, &state.public_base_url)))
}

/// Record an event of a batch (staff of its producer; others 404). Events
/// are never changed: a correction is a new event naming the one it
/// corrects. A failed inspection pauses every active or sold-out listing
/// of the batch in the same transaction; they cannot be published again
/// until a passing inspection stands.
#[utoipa::path(
    tag = "trace",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Batch code")),
    request_body = TraceEventRequest,
    responses(
        (status = 201, description = "Recorded", body = RecordedEventResponse),
        (status = 409, description = "`already_corrected`: that event was corrected already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/trace/batches/{code}/events")]
pub async fn record_trace_event(
    state: web::Data<AppState>,
    user: AuthUser,
    code: web::Path<String>,
    body: Json<TraceEventRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = code_of(&code)?;
    let input = body.into_inner().into_input()?;
    let s = state.clone();
    let recorded =
        blocking(move || s.trace.record_event(user.id, &code, &input, Utc::now())).await?;
    crate::routes::orders::invalidate(&state, recorded.paused.iter().copied()).await;
    Ok(HttpResponse::Created().json(RecordedEventResponse {
        event: TraceEventResponse::of(&recorded.event, None),
        paused_listing_ids: recorded.paused.iter().map(|l| l.0).collect(),
    }))
}
