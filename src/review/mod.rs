//! Reviews: reviewer assignment (conflicts, the optimal solver, the
//! benchmark instance format), the review form read from a reviewer's reply
//! (the reply itself is trimmed by [`crate::mailtext`]) and ranking.

pub mod conflict;
pub mod form;
pub mod instance;
pub mod plan;
pub mod rank;
pub mod solver;
