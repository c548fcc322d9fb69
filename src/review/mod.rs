//! Reviews: the review form read from a reviewer's reply (the reply itself
//! is trimmed by [`crate::mailtext`]) and ranking. Reviewer assignment lives
//! in [`crate::assign`].

pub mod bids;
pub mod form;
pub mod rank;
