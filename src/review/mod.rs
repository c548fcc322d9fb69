//! Reviews: reading review replies (trimming quoted text, parsing the review
//! form) and ranking. Reviewer assignment lives in [`crate::assign`].

pub mod form;
pub mod rank;
pub mod trim;
