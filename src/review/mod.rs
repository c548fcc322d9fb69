//! Reviews: reviewer assignment (conflicts, the optimal solver, the
//! benchmark instance format) and reading review replies (trimming quoted
//! text, parsing the review form).

pub mod conflict;
pub mod form;
pub mod instance;
pub mod plan;
pub mod rank;
pub mod solver;
pub mod trim;
