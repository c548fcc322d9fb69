//! cfpd — a conference's call for proposals, run entirely by email.
//!
//! Data flows one way: [`source`] (IMAP or Maildir: raw messages and a
//! checkpoint) → [`intake`] (classify, authorize, process) → [`proposal`],
//! [`topics`], [`review`] (parsing, tagging, review forms), [`assign`]
//! (reviewer assignment) →
//! [`store`] (the one place SQL lives) and [`outbox`] (queued mail and the
//! only SMTP client). [`daemon`] wires the stages; [`cli`] is what a chair
//! types. [`model`] holds the vocabulary all of them share: every stored
//! state, reason and kind as an enum with one spelling, and the rows the
//! store returns. See `ARCHITECTURE.md` for the codemap and invariants.

#![warn(missing_docs)]

pub mod assign;
pub mod backoff;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod decision;
pub mod fix;
pub mod intake;
pub mod lease;
pub mod mailtext;
pub mod metrics;
pub mod model;
pub mod oauth2;
pub mod outbox;
pub mod progress;
pub mod proposal;
pub mod report;
pub mod review;
pub mod schedule;
pub mod shutdown;
pub mod source;
pub mod store;
pub mod tls;
pub mod token;
pub mod topics;
