//! The outbox worker every API instance runs: fans new events out to
//! deliveries, claims due deliveries under a lease and sends them — e-mail
//! through the mailer, webhooks as signed POSTs — then records the outcome:
//! delivered, retried later (exponential backoff with jitter) or dead after
//! `OUTBOX_MAX_ATTEMPTS`. Instances share the work through Postgres (`FOR
//! UPDATE SKIP LOCKED`, leases), so each delivery is sent by one of them at
//! a time; receivers deduplicate by event id (at-least-once).

use actix_web::web;
use chrono::Utc;
use domain::notifications::{
    compose_mail, is_public_ip, retry_delay, webhook_body, webhook_target, Channel, Claimed,
};
use rand::Rng;

use crate::state::AppState;

/// Deliveries one worker claims per round.
const CLAIM: i64 = 200;
/// Events one worker fans out per round.
const DISPATCH: i64 = 500;

pub fn spawn(state: web::Data<AppState>) {
    if !state.settings.outbox.enabled {
        return;
    }
    let interval = state.settings.outbox.poll_interval;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            // a full round means more is waiting: go again at once; otherwise
            // wait, so that under load each round takes a batch (few large
            // transactions rather than many small ones)
            loop {
                match round(&state).await {
                    Ok(full) if full => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox round failed");
                        break;
                    }
                }
            }
        }
    });
}

/// One round: dispatch, claim, send, record. Returns whether it was full
/// (more may be waiting).
pub async fn round(state: &web::Data<AppState>) -> anyhow::Result<bool> {
    let s = state.clone();
    let lease = chrono::Duration::from_std(state.settings.outbox.lease)?;
    let retry_after = chrono::Duration::from_std(state.settings.outbox.retry_base)?;
    let (dispatched, claimed) = web::block(move || {
        let now = Utc::now();
        // new e-mails are sent during the fan-out; retries and webhooks
        // are claimed
        let mailer = s.mailer.clone();
        let send = move |mails: &[Claimed]| send_in_lanes(mailer.as_ref(), mails);
        let d = s.outbox.dispatch(DISPATCH, now, now + retry_after, &send)?;
        let claimed = s.outbox.claim(CLAIM, lease, now)?;
        Ok::<_, anyhow::Error>((d.events, claimed))
    })
    .await??;
    let n = claimed.len();
    let (mails, hooks): (Vec<Claimed>, Vec<Claimed>) = claimed
        .into_iter()
        .partition(|c| c.channel == Channel::Email);
    let hook_sends = hooks.into_iter().map(|c| {
        let state = state.clone();
        async move {
            let (ok, code, error) = send_webhook(&state, &c).await;
            (c.id, c.attempts, ok, code, error)
        }
    });
    let (mut results, mail_results) = futures_util::future::join(
        futures_util::future::join_all(hook_sends),
        send_mails(state, mails),
    )
    .await;
    results.extend(mail_results);
    // the sent ones in one write; each failure with its own retry time
    let done: Vec<(uuid::Uuid, Option<u16>)> = results
        .iter()
        .filter(|(_, _, ok, _, _)| *ok)
        .map(|(id, _, _, code, _)| (*id, *code))
        .collect();
    let s = state.clone();
    web::block(move || s.outbox.delivered(&done, Utc::now())).await??;
    for (id, attempts, ok, code, error) in &results {
        if !ok {
            record_failure(state, *id, *attempts, *code, error).await?;
        }
    }
    Ok(dispatched == usize::try_from(DISPATCH)? || n >= usize::try_from(CLAIM)?)
}

/// A delivery's outcome: (id, failed attempts before, sent, HTTP status,
/// error).
type Outcome = (uuid::Uuid, u32, bool, Option<u16>, String);

/// Mail connections used at once by one worker round.
const MAIL_LANES: usize = 4;

/// Retries of e-mails, sent like first attempts ([`send_in_lanes`]) in one
/// blocking call.
async fn send_mails(state: &web::Data<AppState>, mails: Vec<Claimed>) -> Vec<Outcome> {
    if mails.is_empty() {
        return Vec::new();
    }
    let mailer = state.mailer.clone();
    let ids: Vec<(uuid::Uuid, u32)> = mails.iter().map(|c| (c.id, c.attempts)).collect();
    match web::block(move || send_in_lanes(mailer.as_ref(), &mails)).await {
        Ok(outcomes) => ids
            .into_iter()
            .zip(outcomes)
            .map(|((id, attempts), error)| match error {
                None => (id, attempts, true, None, String::new()),
                Some(e) => (id, attempts, false, None, e),
            })
            .collect(),
        // the blocking thread is gone: each mail is retried
        Err(e) => ids
            .into_iter()
            .map(|(id, attempts)| (id, attempts, false, None, e.to_string()))
            .collect(),
    }
}

/// E-mails in [`MAIL_LANES`] threads, each sending its share in turn over a
/// pooled connection (first attempts in the fan-out, retries in a round):
/// `None` when sent, or the error, in order.
fn send_in_lanes(mailer: &dyn domain::mail::Mailer, mails: &[Claimed]) -> Vec<Option<String>> {
    if mails.is_empty() {
        return Vec::new();
    }
    let per_lane = mails.len().div_ceil(MAIL_LANES);
    std::thread::scope(|scope| {
        let lanes: Vec<_> = mails
            .chunks(per_lane)
            .map(|lane| {
                scope.spawn(move || {
                    lane.iter()
                        .map(|c| send_mail(mailer, c).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        lanes
            .into_iter()
            .zip(mails.chunks(per_lane))
            .flat_map(|(lane, chunk)| match lane.join() {
                Ok(outcomes) => outcomes,
                // a lane that panicked: its mails are retried later
                Err(_) => vec![Some("the mail lane failed".to_owned()); chunk.len()],
            })
            .collect()
    })
}

fn send_mail(mailer: &dyn domain::mail::Mailer, c: &Claimed) -> Result<(), String> {
    let Some(template) = c
        .template
        .as_deref()
        .and_then(infra::mail_templates::template)
    else {
        return Err(format!("no mail template {:?}", c.template));
    };
    let mail = compose_mail(template, &c.event, &c.recipient).map_err(|e| e.to_string())?;
    mailer.send(&mail).map_err(|e| e.to_string())
}

/// Refuses targets that resolve to loopback, private or link-local
/// addresses (unless `WEBHOOK_ALLOW_PRIVATE`); checked again at every send.
pub async fn check_target(url: &str, allow_private: bool) -> Result<(), String> {
    let (host, port) = webhook_target(url).map_err(|m| format!("url {m}"))?;
    if allow_private {
        return Ok(());
    }
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("url host does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| !is_public_ip(a.ip())) {
        return Err("url resolves to a loopback, private or link-local address".into());
    }
    Ok(())
}

async fn send_webhook(state: &web::Data<AppState>, c: &Claimed) -> (bool, Option<u16>, String) {
    let Some(secret) = c.secret.as_deref() else {
        return (false, None, "the subscription was deleted".into());
    };
    if let Err(e) = check_target(&c.recipient, state.settings.outbox.webhook_allow_private).await {
        return (false, None, e);
    }
    let body = match serde_json::to_vec(&webhook_body(&c.event)) {
        Ok(b) => b,
        Err(e) => return (false, None, e.to_string()),
    };
    let t = Utc::now().timestamp();
    let signature = match infra::notifications::webhook_signature(secret, t, &body) {
        Ok(s) => s,
        Err(e) => return (false, None, e.to_string()),
    };
    let res = state
        .webhook_http
        .post(&c.recipient)
        .header("content-type", "application/json")
        .header("x-coopmart-event-id", c.event.id.to_string())
        .header("x-coopmart-event-type", &c.event.event_type)
        .header("x-coopmart-signature", signature)
        .body(body)
        .send()
        .await;
    match res {
        Ok(r) if r.status().is_success() => (true, Some(r.status().as_u16()), String::new()),
        // redirects are not followed: a 3xx is a failure like any other
        Ok(r) => (
            false,
            Some(r.status().as_u16()),
            format!("answered {}", r.status()),
        ),
        Err(e) => (false, None, e.to_string()),
    }
}

async fn record_failure(
    state: &web::Data<AppState>,
    id: uuid::Uuid,
    failed_before: u32,
    code: Option<u16>,
    error: &str,
) -> anyhow::Result<()> {
    let s = state.clone();
    let attempts = failed_before + 1;
    let error = error.to_owned();
    let cfg = state.settings.outbox.clone();
    let jitter: f64 = rand::thread_rng().gen_range(0.0..=1.0);
    web::block(move || {
        let now = Utc::now();
        tracing::info!(delivery = %id, attempts, error = %error, "outbox delivery failed");
        let retry_at = match (attempts < cfg.max_attempts)
            .then(|| retry_delay(attempts, cfg.retry_base, cfg.retry_max, jitter))
        {
            Some(d) => Some(now + chrono::Duration::from_std(d)?),
            None => None,
        };
        s.outbox.failed(id, code, &error, retry_at, now)
    })
    .await??;
    Ok(())
}
