//! Notifications: the catalogue of domain events the transactional outbox
//! carries, who hears of each (e-mail recipients, partner webhooks), the
//! retry schedule, and the mail templates' rendering. The events
//! themselves are written by the database in the transaction of the change
//! that causes them (migration `outbox`); `infra::notifications` fans them
//! out and delivers them.

mod ports;
mod rules;
mod webhooks;

pub use ports::*;
pub use rules::*;
pub use webhooks::*;

#[cfg(test)]
mod tests;
