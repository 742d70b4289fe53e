//! `/organizations/{id}/freight-templates`: a seller's freight templates
//! (its staff only; others get 404).

use super::*;

/// A seller's freight templates, oldest first (at most 50).
#[utoipa::path(
    tag = "delivery",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller organization id")),
    responses(
        (status = 200, description = "Its templates (`next_cursor` is always null)", body = Page<FreightTemplateResponse>),
    )
)]
#[get("/organizations/{id}/freight-templates")]
pub async fn list_freight_templates(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let rows = blocking(move || state.delivery.templates(user.id, org)).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .into_iter()
            .map(FreightTemplateResponse::from)
            .collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

/// Create a freight template. `is_default: true` makes it the seller's
/// default (the previous default stops being one).
#[utoipa::path(
    tag = "delivery",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller organization id")),
    request_body = FreightTemplateBody,
    responses(
        (status = 201, description = "Created", body = FreightTemplateResponse),
        (status = 409, description = "`duplicate_name`, `too_many_templates`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/freight-templates")]
pub async fn create_freight_template(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<FreightTemplateBody>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let input = body.into_inner().into_input();
    let t = blocking(move || {
        state
            .delivery
            .save_template(user.id, org, None, &input, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(FreightTemplateResponse::from(t)))
}

/// One freight template.
#[utoipa::path(
    tag = "delivery",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Seller organization id"),
        ("template_id" = Uuid, Path, description = "Template id"),
    ),
    responses(
        (status = 200, description = "The template", body = FreightTemplateResponse),
    )
)]
#[get("/organizations/{id}/freight-templates/{template_id}")]
pub async fn get_freight_template(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    let t = blocking(move || {
        state
            .delivery
            .template(user.id, OrgId(org), FreightTemplateId(id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(FreightTemplateResponse::from(t)))
}

/// Replace a freight template (every field). Orders placed before keep the
/// freight they were charged.
#[utoipa::path(
    tag = "delivery",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Seller organization id"),
        ("template_id" = Uuid, Path, description = "Template id"),
    ),
    request_body = FreightTemplateBody,
    responses(
        (status = 200, description = "Replaced", body = FreightTemplateResponse),
        (status = 409, description = "`duplicate_name`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/organizations/{id}/freight-templates/{template_id}")]
pub async fn replace_freight_template(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<FreightTemplateBody>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    let input = body.into_inner().into_input();
    let t = blocking(move || {
        state.delivery.save_template(
            user.id,
            OrgId(org),
            Some(FreightTemplateId(id)),
            &input,
            Utc::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(FreightTemplateResponse::from(t)))
}

/// Delete a freight template no listing names.
#[utoipa::path(
    tag = "delivery",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Seller organization id"),
        ("template_id" = Uuid, Path, description = "Template id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`freight_template_in_use` (with `listings`: how many name it)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/organizations/{id}/freight-templates/{template_id}")]
pub async fn delete_freight_template(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    blocking(move || {
        state
            .delivery
            .delete_template(user.id, OrgId(org), FreightTemplateId(id))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
