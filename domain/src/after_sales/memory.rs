//! An in-memory [`RefundStore`] for the service tests: seller orders are
//! set up by the test; reservations are derived from the requests, as the
//! Postgres adapter derives them.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::ports::*;
use super::rules::*;
use crate::coop::OrgId;
use crate::ledger::Entry;
use crate::money::Fen;
use crate::orders::{Buyer, SellerOrderId, Unknown};

#[derive(Default)]
struct State {
    /// Seller orders with nothing reserved (reservations are computed).
    orders: HashMap<SellerOrderId, (Refundable, Buyer)>,
    requests: Vec<RefundRequest>,
    entries: Vec<Entry>,
}

#[derive(Default)]
pub struct MemoryRefunds {
    state: Mutex<State>,
}

impl MemoryRefunds {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, Unknown> {
        self.state
            .lock()
            .map_err(|_| anyhow::anyhow!("memory refunds poisoned"))
    }

    pub fn add(&self, so: Refundable, buyer: Buyer) {
        if let Ok(mut st) = self.lock() {
            st.orders.insert(so.seller_order_id, (so, buyer));
        }
    }

    pub fn set_status(&self, so: SellerOrderId, status: crate::orders::SellerOrderStatus) {
        if let Ok(mut st) = self.lock() {
            if let Some((s, _)) = st.orders.get_mut(&so) {
                s.status = status;
            }
        }
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.lock().map(|s| s.entries.clone()).unwrap_or_default()
    }

    pub fn refundable(&self, so: SellerOrderId) -> Option<Refundable> {
        self.lock().ok().and_then(|st| st.view(so))
    }
}

impl State {
    /// The seller order with the open requests' reservations.
    fn view(&self, so: SellerOrderId) -> Option<Refundable> {
        let (mut s, _) = self.orders.get(&so)?.clone();
        s.request_count = 0;
        for r in self.requests.iter().filter(|r| r.seller_order_id == so) {
            s.request_count += 1;
            if !r.status.reserves() {
                continue;
            }
            for p in &r.parts {
                match p.order_item_id {
                    None => s.freight_reserved = s.freight_reserved + p.amount,
                    Some(id) => {
                        if let Some(l) = s.lines.iter_mut().find(|l| l.id == id) {
                            l.reserved = l.reserved + p.amount;
                        }
                    }
                }
            }
        }
        Some(s)
    }
}

impl RefundStore for MemoryRefunds {
    fn parties(&self, id: SellerOrderId) -> Result<Option<(OrgId, Buyer)>, Unknown> {
        Ok(self.lock()?.orders.get(&id).map(|(s, b)| (s.seller_id, *b)))
    }

    fn open(
        &self,
        new: &NewRefund,
        plan: PlanRefund<'_>,
        now: DateTime<Utc>,
    ) -> Result<RefundOutcome, Unknown> {
        let mut st = self.lock()?;
        let Some(view) = st.view(new.seller_order_id) else {
            return Ok(RefundOutcome::NotFound);
        };
        let parts = match plan(&view) {
            Ok(p) => p,
            Err(r) => return Ok(RefundOutcome::Refused(r)),
        };
        let buyer = st
            .orders
            .get(&new.seller_order_id)
            .map(|(_, b)| *b)
            .ok_or_else(|| anyhow::anyhow!("seller order vanished"))?;
        let r = RefundRequest {
            id: new.id,
            seller_order_id: new.seller_order_id,
            order_id: view.order_id,
            seller_id: view.seller_id,
            buyer,
            origin: new.origin,
            order_item_id: new.ask.order_item_id,
            quantity: new.ask.quantity,
            amount: parts.iter().map(|p| p.amount).sum(),
            reason: new.ask.reason.clone(),
            photo_urls: new.ask.photo_urls.clone(),
            status: new.status,
            note: None,
            parts,
            commission_returned: None,
            after_completion: None,
            refunded_at: None,
            created_at: now,
            updated_at: now,
        };
        st.requests.push(r.clone());
        Ok(RefundOutcome::Done(Box::new(r)))
    }

    fn change(
        &self,
        id: RefundRequestId,
        decide: DecideRefund<'_>,
        _actor: &str,
        now: DateTime<Utc>,
    ) -> Result<RefundOutcome, Unknown> {
        let mut st = self.lock()?;
        let Some(r) = st.requests.iter().find(|r| r.id == id).cloned() else {
            return Ok(RefundOutcome::NotFound);
        };
        let view = st
            .view(r.seller_order_id)
            .ok_or_else(|| anyhow::anyhow!("seller order vanished"))?;
        let change = match decide(&view, &r) {
            Ok(c) => c,
            Err(refusal) => return Ok(RefundOutcome::Refused(refusal)),
        };
        let mut r = r;
        r.status = change.to;
        r.note = change.note;
        r.updated_at = now;
        if let Some(p) = change.posting {
            r.commission_returned = Some(p.commission_returned);
            r.after_completion = Some(p.after_completion);
            r.refunded_at = Some(now);
            if let Some((so, _)) = st.orders.get_mut(&r.seller_order_id) {
                for (part, _) in &p.parts {
                    match part.order_item_id {
                        None => so.freight_refunded = so.freight_refunded + part.amount,
                        Some(line) => {
                            if let Some(l) = so.lines.iter_mut().find(|l| l.id == line) {
                                l.refunded = l.refunded + part.amount;
                            }
                        }
                    }
                }
            }
            st.entries.push(p.entry);
        }
        if let Some(slot) = st.requests.iter_mut().find(|x| x.id == id) {
            *slot = r.clone();
        }
        Ok(RefundOutcome::Done(Box::new(r)))
    }

    fn find(&self, id: RefundRequestId) -> Result<Option<RefundRequest>, Unknown> {
        Ok(self.lock()?.requests.iter().find(|r| r.id == id).cloned())
    }

    fn of_seller_order(&self, id: SellerOrderId) -> Result<Vec<RefundRequest>, Unknown> {
        Ok(self
            .lock()?
            .requests
            .iter()
            .filter(|r| r.seller_order_id == id)
            .cloned()
            .collect())
    }

    fn of_seller(
        &self,
        seller: OrgId,
        status: Option<RefundStatus>,
        _after: Option<RefundRequestId>,
        limit: i64,
    ) -> Result<Vec<RefundRequest>, Unknown> {
        Ok(self
            .lock()?
            .requests
            .iter()
            .rev()
            .filter(|r| r.seller_id == seller && status.is_none_or(|s| r.status == s))
            .take(usize::try_from(limit).unwrap_or(0))
            .cloned()
            .collect())
    }
}

/// Line totals after a posting: helper for assertions.
pub fn refunded_total(s: &Refundable) -> Fen {
    s.lines.iter().map(|l| l.refunded).sum::<Fen>() + s.freight_refunded
}
