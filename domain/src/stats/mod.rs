//! Sales statistics (监测统计) and unsalable-produce alerts (滞销预警) for
//! platform and supply-and-marketing staff: an SMC sees only the
//! organizations of its own subtree.

mod model;
mod ports;
mod service;

#[cfg(test)]
mod tests;

pub use model::*;
pub use ports::*;
pub use service::*;
