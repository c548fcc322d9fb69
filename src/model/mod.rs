//! The domain's vocabulary: every stored state, reason and kind as an enum
//! with exactly one spelling, and the rows the store hands out.
//!
//! A spelling is written once, in a `strum` attribute on the variant; the
//! database encoding (`as_str`, `FromStr`), serde and the CHECK constraints
//! of migration 0011 all follow from it (a test in `store` holds the
//! migration's lists to the enums). A value read back from the database that
//! is not one of the spellings is an error ([`UnknownSpelling`]), never
//! silently mapped to some variant.
//!
//! No I/O here: no sqlx, tokio or lettre.

#[cfg(test)]
pub mod fixtures;
mod mailbox;
mod rows;
mod states;

pub use mailbox::mailbox_key;

pub use rows::{
    Assignment, Bid, ChairTokenRow, DecisionRequest, DecisionRow, ProposalRow, Reviewer,
    VersionStamp,
};
pub use states::{
    AssignmentState, BidKind, ChairAction, ChairTokenKind, Confirmation, Decision, DecisionSource,
    HoldReason, MailKind, MessageState, Objective, OutboxState, ProposalStatus, Reason, TokenKind,
};

/// A stored value that is none of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} in the database")]
pub struct UnknownSpelling {
    /// Which enum (`message state`, `reason`, …).
    pub what: &'static str,
    /// The value as stored.
    pub value: String,
}

/// What every stored enum offers: its one spelling and the way back.
///
/// Implemented by `spelled!` from the `strum` derives, so no enum has a
/// hand-written spelling table.
pub trait Spelled: Copy + Sized + 'static {
    /// Which enum, for errors.
    const WHAT: &'static str;
    /// Every variant, in the order reports show them.
    fn all() -> &'static [Self];
    /// The stored spelling.
    fn as_str(self) -> &'static str;
    /// Parse a stored spelling; unknown spellings are an error.
    fn parse(s: &str) -> Result<Self, UnknownSpelling>;
}

/// Wire an enum deriving `strum::{EnumString, IntoStaticStr, VariantArray}`
/// (see [`stored_enum!`]) into [`Spelled`], `TryFrom<String>` and `Display`, and give it inherent
/// `as_str`/`parse`/`ALL` so callers need no trait import.
macro_rules! spelled {
    ($t:ty, $what:literal) => {
        impl $crate::model::Spelled for $t {
            const WHAT: &'static str = $what;
            fn all() -> &'static [Self] {
                <$t as strum::VariantArray>::VARIANTS
            }
            fn as_str(self) -> &'static str {
                self.into()
            }
            fn parse(s: &str) -> Result<Self, $crate::model::UnknownSpelling> {
                s.parse().map_err(|_| $crate::model::UnknownSpelling {
                    what: $what,
                    value: s.to_string(),
                })
            }
        }

        impl $t {
            /// Every variant, in the order reports show them.
            pub const ALL: &'static [$t] = <$t as strum::VariantArray>::VARIANTS;

            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// Parse a stored spelling; unknown spellings are an error.
            pub fn parse(s: &str) -> Result<Self, $crate::model::UnknownSpelling> {
                <$t as $crate::model::Spelled>::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = $crate::model::UnknownSpelling;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                <$t>::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_str().to_string()
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}
pub(crate) use spelled;

/// Define a stored enum: the derives that give it its one spelling (strum,
/// snake_case unless a variant says `#[strum(serialize = "…")]`), serde
/// through that same spelling, and [`spelled!`]. `$what` names it in errors.
macro_rules! stored_enum {
    ($what:literal, $(#[$meta:meta])* pub enum $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            strum::EnumString,
            strum::IntoStaticStr,
            strum::VariantArray,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[strum(serialize_all = "snake_case")]
        #[serde(into = "String", try_from = "String")]
        pub enum $name { $($body)* }
        $crate::model::spelled!($name, $what);
    };
}
pub(crate) use stored_enum;
