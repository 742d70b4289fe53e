//! After-sales refunds (售后): the buyer asks for part of a delivered or
//! completed seller order back (an amount, or a quantity of one line); the
//! seller approves or rejects; a platform admin decides disputed ones; an
//! approved refund goes to the payment provider, and its signed
//! confirmation posts the money. Sellers may also refund part of a shipped
//! seller order directly (`POST /seller-orders/{id}/refunds` with an amount).
//!
//! Caps: a request reserves its amount on the lines it names the moment it
//! is filed (or escalated), under the seller order's lock, so open and paid
//! refunds together never exceed what was paid for a line — also when many
//! arrive at once. The database checks the paid part again.
//!
//! Commission is returned pro rata per line with a cumulative floor: after
//! refunds totalling `r` of a line of total `t` and commission `c`, the
//! commission returned so far is `⌊c·r/t⌋`; each refund returns the
//! difference, so the pieces always add up and a whole refund returns the
//! whole commission.

mod ports;
mod rules;
mod service;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

pub use ports::*;
pub use rules::*;
pub use service::*;
