//! Reviewer assignment: who reviews what.
//!
//! * [`problem`] — the instance types the solver reads (needs, capacities, affinities,
//!   forbidden and fixed pairs).
//! * [`solver`] — the exact solver with its optimality certificate and its diagnosis of
//!   infeasibility.
//! * [`conflict`] — conflict-of-interest rules (registrable domains from the Public Suffix
//!   List decide "same institution").
//! * [`plan`] — stored rows → a solver problem, for the whole roster or to refill one
//!   proposal.
//! * [`instance`] — the benchmark JSON format shared with the OR-Tools peer.
//! * [`fair`] — the `total` and `fair` objectives and the figures the preview shows.
//! * [`commit`] — storing chosen pairs with their reply tokens and assignment mails.
//!
//! Everything here but [`commit`] is pure: no database, no clock, no network, no sqlx,
//! tokio or lettre. [`commit`] is the one room that writes, and it writes only inside the
//! caller's transaction.

pub mod commit;
pub mod conflict;
pub mod fair;
pub mod instance;
pub mod plan;
pub mod problem;
pub mod solver;
