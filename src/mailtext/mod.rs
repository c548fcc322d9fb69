//! Mail text: reading what a person wrote in a mail, with no I/O.
//!
//! - [`html`]: the one HTML → text conversion, used for every HTML-only part (reply
//!   trimming, the proposal parser's input, the machine-mail classifier).
//! - [`quote`]: `>` quote markers, the prefix styles that are rewritten to them.
//! - [`trim`]: reply trimming, split by concern: attribution lines, client header blocks,
//!   signatures, the rules that choose what stays, and answers typed inline.
//! - [`command`]: the one recogniser of command replies (`decline`, `conflict`,
//!   `withdraw`, `help`), shared by speakers and reviewers.
//!
//! Everything here is pure text processing, never panics on any input, and runs its regular
//! expressions in linear time, so it can be fed whatever arrives by mail.

pub mod command;
pub mod html;
pub mod quote;
pub mod trim;

mod lines;

use regex::Regex;

/// Compiles one of this module's built-in regular expressions.
///
/// The patterns are constants; every file's unit tests compile all of its own, so the
/// `expect` cannot fire on any input.
pub(crate) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in regular expression")
}

/// A small deterministic xorshift generator (no external crate), for the tests that feed
/// random text to the parsers and check that they never panic.
#[cfg(test)]
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
