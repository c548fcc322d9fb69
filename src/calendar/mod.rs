//! The conference calendar: deadline zones, cron expressions on the
//! conference's wall clock, and reminder rules as plain data.
//!
//! This room imports nothing else from the crate, so both sides can use it
//! without a circle: `config` validates `[conference]` and `[[reminders]]`
//! into these types, and `schedule` runs the rules (planning, mail, ledger).

pub mod rules;
pub mod zone;

pub use zone::Zone;
