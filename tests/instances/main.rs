//! Several API processes (the release binary) on one Postgres and Redis,
//! and the faults a process can meet: killed with SIGKILL mid-request,
//! Redis gone mid-run. Each test checks the invariants afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod faults;
mod market;
mod two_instances;
