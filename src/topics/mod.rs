//! Topic tagging: which topics of the call for proposals a proposal belongs
//! to, and why.
//!
//! * [`TopicSet`] — the conference's topics (the embedded DjangoCon US 2024
//!   default, or a chair's own TOML file, see [`set`] for the format), with
//!   validation that names file, line and key, and matching of the topics a
//!   speaker declares ("htmx" → `frontend`, "Perf & scaling" →
//!   `performance-scaling`, small typos).
//! * [`Tagger`] — ranks every topic for a proposal with a score and the
//!   words or phrases behind it ([`Tagger::rank`]), and chooses the topics it
//!   is filed under ([`Tagger::file`]): declared topics, the best topics
//!   above the set's threshold, or the fallback (`something-else`).
//! * [`explain`] — a topic's evidence in plain words for chairs ("the
//!   speaker chose \"database\"; mentions select_related, ORM"); speakers see
//!   `outbox::templates::speaker_topic`.
//! * [`tag_jsonl`] — batch tagging of JSON lines (`cfpd tag`).
//!
//! Everything is deterministic and offline; vocabulary is compiled once in
//! [`Tagger::new`].
//!
//! ```
//! # use cfpd::topics::{TagInput, Tagger, TopicSet};
//! let tagger = Tagger::new(TopicSet::default_set());
//! let declared = vec!["web sockets".to_string()];
//! let input = TagInput {
//!     title: "Live dashboards with HTMX and Django Channels",
//!     abstract_text: "Push updates over websockets to server-rendered templates.",
//!     description: "",
//!     declared: &declared,
//! };
//! let ranked = tagger.rank(&input);
//! let filed = tagger.file(&ranked);
//! assert_eq!(filed[0].id, "channels-websockets");
//! assert_eq!(filed[0].evidence[0], "declared: web sockets");
//! assert!(filed.iter().any(|t| t.id == "frontend"));
//! ```

pub mod jsonl;
pub mod set;
pub mod tagger;
mod text;

pub use jsonl::{tag_jsonl, TagJsonlError};
pub use set::{FilingSettings, Term, Topic, TopicSet, TopicSetError};
pub use tagger::{explain, TagInput, Tagger, TopicScore};
