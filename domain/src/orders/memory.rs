//! In-memory adapters of the order ports, for testing the order service's
//! rules without I/O (organizations and the member register come from
//! `coop::memory`). They keep the contracts the port documents (a refused
//! order writes nothing; a key completed with the order replays), with one
//! mutex standing in for the database's transaction. Methods the tests do
//! not exercise answer an error that names them, never a made-up value.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::model::*;
use super::ports::Unknown;
use super::ports::*;
use super::pricing::*;
use crate::catalog::ListingId;
use crate::coop::*;
use crate::money::Fen;

fn unused(what: &str) -> Unknown {
    anyhow::anyhow!("in-memory double: {what} is not part of these tests")
}

#[derive(Default)]
pub struct State {
    pub listings: HashMap<ListingId, ListingSnapshot>,
    pub orders: HashMap<OrderId, Order>,
    /// (scope, key) → (request hash, status, body).
    pub keys: HashMap<(String, String), (String, u16, String)>,
    /// Keys another request holds right now.
    pub in_flight: Vec<(String, String)>,
    pub events: Vec<(OrderId, OrderEvent)>,
}

#[derive(Default)]
pub struct MemoryOrders {
    pub state: Mutex<State>,
}

impl MemoryOrders {
    pub fn with_listings(listings: Vec<ListingSnapshot>) -> Self {
        let s = Self::default();
        if let Ok(mut st) = s.state.lock() {
            st.listings = listings.into_iter().map(|l| (l.id, l)).collect();
        }
        s
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, Unknown> {
        self.state
            .lock()
            .map_err(|_| anyhow::anyhow!("state poisoned"))
    }

    pub fn stock(&self, id: ListingId) -> Option<i32> {
        self.lock().ok()?.listings.get(&id).map(|l| l.stock)
    }
}

fn key_of(c: &IdemClaim<'_>) -> (String, String) {
    (c.scope.to_owned(), c.key.to_owned())
}

fn replay_or_mismatch(stored: &(String, u16, String), hash: &str) -> IdemBegin {
    if stored.0 == hash {
        IdemBegin::Replay {
            status: stored.1,
            body: stored.2.clone(),
        }
    } else {
        IdemBegin::Mismatch
    }
}

impl CheckoutStore for MemoryOrders {
    fn snapshots(&self, ids: &[ListingId]) -> Result<HashMap<ListingId, ListingSnapshot>, Unknown> {
        let st = self.lock()?;
        Ok(ids
            .iter()
            .filter_map(|id| st.listings.get(id).map(|l| (*id, l.clone())))
            .collect())
    }

    fn key_state(&self, claim: IdemClaim<'_>, _now: DateTime<Utc>) -> Result<IdemBegin, Unknown> {
        let st = self.lock()?;
        Ok(match st.keys.get(&key_of(&claim)) {
            Some(stored) => replay_or_mismatch(stored, claim.hash),
            None => IdemBegin::Started,
        })
    }

    fn create(
        &self,
        new: &NewOrder,
        order: &Order,
        idem: Option<IdemClaim<'_>>,
        response: (u16, &str),
    ) -> Result<CreateOutcome, Unknown> {
        let mut st = self.lock()?;
        if let Some(c) = &idem {
            if st.in_flight.contains(&key_of(c)) {
                return Ok(CreateOutcome::KeyTaken(IdemBegin::InFlight));
            }
            if let Some(stored) = st.keys.get(&key_of(c)) {
                return Ok(CreateOutcome::KeyTaken(replay_or_mismatch(stored, c.hash)));
            }
        }
        // Check every listing before taking anything: all or nothing.
        for (id, qty) in &new.priced.stock_needs {
            match st.listings.get(id) {
                None => return Ok(CreateOutcome::Unavailable(*id)),
                Some(l) if l.stock < *qty => return Ok(CreateOutcome::OutOfStock(*id)),
                Some(_) => {}
            }
        }
        for (id, qty) in &new.priced.stock_needs {
            if let Some(l) = st.listings.get_mut(id) {
                l.stock -= qty;
            }
        }
        if let Some(c) = &idem {
            st.keys.insert(
                key_of(c),
                (c.hash.to_owned(), response.0, response.1.to_owned()),
            );
        }
        st.orders.insert(order.id, order.clone());
        Ok(CreateOutcome::Created)
    }

    fn find(&self, id: OrderId) -> Result<Option<Order>, Unknown> {
        Ok(self.lock()?.orders.get(&id).cloned())
    }

    fn list_for_buyer(
        &self,
        _buyer: Buyer,
        _after: Option<OrderId>,
        _limit: i64,
    ) -> Result<Vec<Order>, Unknown> {
        Err(unused("list_for_buyer"))
    }

    fn events(&self, order: OrderId) -> Result<Vec<OrderEvent>, Unknown> {
        Ok(self
            .lock()?
            .events
            .iter()
            .filter(|(o, _)| *o == order)
            .map(|(_, e)| e.clone())
            .collect())
    }

    fn cancel(
        &self,
        _id: OrderId,
        _to: OrderStatus,
        _actor: &str,
        _now: DateTime<Utc>,
    ) -> Result<CancelOutcome, Unknown> {
        Err(unused("cancel"))
    }

    fn expire_due(
        &self,
        _now: DateTime<Utc>,
        _limit: i64,
    ) -> Result<Vec<(OrderId, Vec<ListingId>)>, Unknown> {
        Err(unused("expire_due"))
    }

    fn count_sales(&self, _limit: i64) -> Result<Vec<ListingId>, Unknown> {
        Err(unused("count_sales"))
    }

    fn purge_keys(&self, _now: DateTime<Utc>, _limit: i64) -> Result<usize, Unknown> {
        Err(unused("purge_keys"))
    }
}

impl FulfilmentStore for MemoryOrders {
    fn list_seller_orders(
        &self,
        _seller: OrgId,
        _status: Option<SellerOrderStatus>,
        _after: Option<SellerOrderId>,
        _limit: i64,
    ) -> Result<Vec<SellerOrder>, Unknown> {
        Err(unused("list_seller_orders"))
    }

    fn find_seller_order(&self, id: SellerOrderId) -> Result<Option<SellerOrder>, Unknown> {
        Ok(self
            .lock()?
            .orders
            .values()
            .flat_map(|o| o.seller_orders.iter())
            .find(|s| s.id == id)
            .cloned())
    }

    fn transition(
        &self,
        id: SellerOrderId,
        decide: DecideSeller<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<SellerTransition, Unknown> {
        let mut st = self.lock()?;
        let Some(order) = st
            .orders
            .values()
            .find(|o| o.seller_orders.iter().any(|s| s.id == id))
            .cloned()
        else {
            return Ok(SellerTransition::NotFound);
        };
        let Some(so) = order.seller_orders.iter().find(|s| s.id == id).cloned() else {
            return Ok(SellerTransition::NotFound);
        };
        let state = SellerOrderForUpdate {
            id,
            seller_id: so.seller_id,
            subtotal: so.subtotal,
            freight: so.freight,
            commission: so.commission,
            held_refunded: Fen::ZERO,
            held_commission_returned: Fen::ZERO,
            order_id: order.id,
            order_status: order.status,
            status: so.status,
            pickup_code: so.pickup_code.clone(),
            siblings: order
                .seller_orders
                .iter()
                .filter(|s| s.id != id)
                .map(|s| s.status)
                .collect(),
            items: so
                .items
                .iter()
                .map(|i| ItemState {
                    id: i.id,
                    listing_id: i.item.listing_id,
                    quantity: i.item.quantity,
                    shipped: so
                        .shipments
                        .iter()
                        .flat_map(|s| s.items.iter())
                        .filter(|s| s.order_item_id == i.id)
                        .map(|s| s.quantity)
                        .sum(),
                    cold_chain: false,
                })
                .collect(),
            station: match order.delivery {
                Delivery::StationPickup { station_id } => Some(station_id),
                Delivery::HomeDelivery { .. } => None,
            },
        };
        let change = match decide(&state) {
            Ok(c) => c,
            Err(r) => return Ok(SellerTransition::Refused(r)),
        };
        let mut restocked = Vec::new();
        for (listing, qty) in &change.restock {
            if let Some(l) = st.listings.get_mut(listing) {
                l.stock += qty;
                restocked.push(*listing);
            }
        }
        let event = |from: Option<String>, to: String, so: Option<SellerOrderId>| OrderEvent {
            seller_order_id: so,
            from_status: from,
            to_status: to,
            actor: actor.to_owned(),
            occurred_at: now,
        };
        let mut events = Vec::new();
        if change.from != change.to {
            events.push(event(
                Some(change.from.as_str().into()),
                change.to.as_str().into(),
                Some(id),
            ));
        }
        let Some(stored) = st.orders.get_mut(&order.id) else {
            return Ok(SellerTransition::NotFound);
        };
        if let Some((from, to)) = change.order_status {
            stored.status = to;
            events.push(event(Some(from.as_str().into()), to.as_str().into(), None));
        }
        let mut updated = so;
        updated.status = change.to;
        if let Some((carrier, tracking)) = &change.shipping {
            updated.carrier = Some(carrier.clone());
            updated.tracking_no = Some(tracking.clone());
        }
        updated.shipments.extend(change.shipment.clone());
        updated.updated_at = now;
        if let Some(slot) = stored.seller_orders.iter_mut().find(|s| s.id == id) {
            *slot = updated.clone();
        }
        let order_status = stored.status;
        st.events.extend(events.into_iter().map(|e| (order.id, e)));
        Ok(SellerTransition::Done {
            seller_order: Box::new(updated),
            order_status,
            restocked,
        })
    }

    fn delivered_before(
        &self,
        _cutoff: DateTime<Utc>,
        _limit: i64,
    ) -> Result<Vec<SellerOrderId>, Unknown> {
        Err(unused("delivered_before"))
    }
}

impl GroupBuyStore for MemoryOrders {
    fn decide_group_buys(
        &self,
        _now: DateTime<Utc>,
        _limit: i64,
        _decide: DecideGroupBuy<'_>,
    ) -> Result<Vec<(ListingId, GroupOutcome)>, Unknown> {
        Err(unused("decide_group_buys"))
    }

    fn unresolved_group_buys(&self, _limit: i64) -> Result<Vec<ListingId>, Unknown> {
        Err(unused("unresolved_group_buys"))
    }

    fn group_buy_victims(&self, _listing: ListingId) -> Result<GroupBuyVictims, Unknown> {
        Err(unused("group_buy_victims"))
    }

    fn resolve_group_buy(&self, _listing: ListingId, _now: DateTime<Utc>) -> Result<(), Unknown> {
        Err(unused("resolve_group_buy"))
    }
}

impl PaymentStore for MemoryOrders {
    fn create_payment(
        &self,
        _order: OrderId,
        _provider: &str,
        _now: DateTime<Utc>,
    ) -> Result<PaymentStart, Unknown> {
        Err(unused("create_payment"))
    }

    fn find_payment(&self, _id: PaymentId) -> Result<Option<Payment>, Unknown> {
        Err(unused("find_payment"))
    }

    fn apply_payment(
        &self,
        _id: PaymentId,
        _succeeded: bool,
        _amount: i64,
        _now: DateTime<Utc>,
    ) -> Result<PaymentApplied, Unknown> {
        Err(unused("apply_payment"))
    }

    fn mark_refunded(&self, _id: PaymentId) -> Result<(), Unknown> {
        Err(unused("mark_refunded"))
    }
}

/// A payment provider the order tests reach only to return the money of
/// seller orders refunded in full (recorded).
#[derive(Default)]
pub struct NoGateway {
    pub returned: Mutex<Vec<(SellerOrderId, Fen)>>,
}

impl PaymentGateway for NoGateway {
    fn name(&self) -> &'static str {
        "none"
    }
    fn verify(
        &self,
        _timestamp: &str,
        _signature: &str,
        _body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<PaymentNotification, NotifyError> {
        Err(NotifyError::Malformed)
    }
    fn refund(&self, _payment: &Payment) -> Result<(), Unknown> {
        Err(unused("gateway.refund"))
    }
    fn refund_seller_order(&self, so: &SellerOrder, amount: Fen) -> Result<(), Unknown> {
        self.returned
            .lock()
            .map_err(|_| unused("gateway (poisoned)"))?
            .push((so.id, amount));
        Ok(())
    }
    fn request_refund(&self, _refund: &crate::after_sales::RefundRequest) -> Result<(), Unknown> {
        Err(unused("gateway.request_refund"))
    }
    fn verify_refund(
        &self,
        _timestamp: &str,
        _signature: &str,
        _body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<crate::after_sales::RefundNotification, NotifyError> {
        Err(NotifyError::Malformed)
    }
}
