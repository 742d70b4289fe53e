//! The order sweeps every API instance runs: expiry, group-buy outcomes,
//! auto-completion, sales counts and forgetting Idempotency-Keys. Each is
//! safe to run on several instances at once (the stores lock with SKIP
//! LOCKED, and every state change happens once).

use chrono::{DateTime, Utc};

use super::model::*;
use super::ports::*;
use super::service::{OrderError, OrderService};
use crate::catalog::ListingId;

impl OrderService {
    /// Expires overdue unpaid orders (safe to run on every instance).
    pub fn expire_due(&self, now: DateTime<Utc>) -> Result<Vec<ListingId>, OrderError> {
        let done = self.orders.expire_due(now, 100)?;
        Ok(done.into_iter().flat_map(|(_, l)| l).collect())
    }

    /// Forgets expired Idempotency-Keys (batches of 10,000, bounded per call).
    pub fn purge_expired_keys(&self, now: DateTime<Utc>) -> Result<usize, OrderError> {
        let mut purged = 0;
        for _ in 0..20 {
            let n = self.orders.purge_keys(now, 10_000)?;
            purged += n;
            if n < 10_000 {
                break;
            }
        }
        Ok(purged)
    }

    /// Refreshes the sales counters behind hot lists and the popular sort.
    pub fn count_sales(&self) -> Result<Vec<ListingId>, OrderError> {
        // Batches of 20,000 sales until none are left (bounded per call).
        let mut changed = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let batch = self.orders.count_sales(20_000)?;
            if batch.is_empty() {
                break;
            }
            changed.extend(batch);
        }
        Ok(changed.into_iter().collect())
    }

    /// Decides group buys past their deadline and undoes the failed ones:
    /// each paid seller order holding the listing is refunded (its stock
    /// returns), each unpaid order cancelled. Every step is a state change
    /// that happens once, so two instances sweeping at once, or a sweep
    /// interrupted half way and run again, refund nothing twice. Returns
    /// the listings whose stock came back.
    pub fn settle_group_buys(&self, now: DateTime<Utc>) -> Result<Vec<ListingId>, OrderError> {
        self.orders
            .decide_group_buys(now, 50, &|target, paid| group_buy_outcome(target, paid))?;
        let mut restocked = Vec::new();
        for listing in self.orders.unresolved_group_buys(50)? {
            let victims = self.orders.group_buy_victims(listing)?;
            for so in victims.seller_orders {
                match self.act(so, &SellerAction::Refund, None, "system:group_buy", now)? {
                    SellerTransition::Done {
                        restocked: r,
                        seller_order,
                        ..
                    } => {
                        restocked.extend(r);
                        self.return_payment(&seller_order)?;
                    }
                    SellerTransition::NotFound => {}
                    // refunded meanwhile (another sweep): nothing to do
                    SellerTransition::Refused(SellerRefusal::Invalid(
                        SellerOrderStatus::Refunded | SellerOrderStatus::Cancelled,
                        _,
                    )) => {}
                    // shipped before the group buy was decided: left to after-sales
                    SellerTransition::Refused(r) => tracing::warn!(
                        seller_order = %so,
                        listing = %listing,
                        refusal = ?r,
                        "failed group buy: seller order not refunded"
                    ),
                }
            }
            for order in victims.pending_orders {
                if let CancelOutcome::Cancelled { restocked: r } =
                    self.orders
                        .cancel(order, OrderStatus::Cancelled, "system:group_buy", now)?
                {
                    restocked.extend(r);
                }
            }
            self.orders.resolve_group_buy(listing, now)?;
        }
        Ok(restocked)
    }

    /// Completes seller orders delivered longer ago than the auto-complete period.
    pub fn auto_complete_due(&self, now: DateTime<Utc>) -> Result<usize, OrderError> {
        let due = self
            .orders
            .delivered_before(now - self.auto_complete_after, 100)?;
        let mut done = 0;
        for id in due {
            let t = self.act(id, &SellerAction::Complete, None, "system", now)?;
            if self.transitioned(t, now).is_ok() {
                done += 1;
            }
        }
        Ok(done)
    }
}
