//! The forgiving proposal parser and the topic tagger on arbitrary text.
#![no_main]

use std::sync::OnceLock;

use cfpd::proposal::ProposalRules;
use cfpd::proposal::TagOverrides;
use cfpd::topics::{Tagger, TopicSet};
use libfuzzer_sys::fuzz_target;

fn rules() -> ProposalRules {
    ProposalRules {
        required: ["title", "format", "audience", "abstract", "description"]
            .map(String::from)
            .to_vec(),
        formats: ["talk-25", "talk-45", "tutorial"]
            .map(String::from)
            .to_vec(),
        audiences: ["beginner", "intermediate", "advanced"]
            .map(String::from)
            .to_vec(),
        word_limits: vec![("abstract".into(), 300), ("title".into(), 20)],
        max_message_bytes: 1 << 20,
        reply_token_days: 365,
        // The conference's own questions go through their own label matching.
        custom: vec![
            cfpd::proposal::CustomField {
                name: "pronouns".into(),
                label: "Pronouns".into(),
                kind: cfpd::proposal::FieldKind::Text,
                required: false,
                reviewers: false,
            },
            cfpd::proposal::CustomField {
                name: "in_person".into(),
                label: "Can you attend in person?".into(),
                kind: cfpd::proposal::FieldKind::YesNo,
                required: true,
                reviewers: true,
            },
        ],
    }
}

fuzz_target!(|data: &[u8]| {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    let tagger = TAGGER.get_or_init(|| Tagger::new(TopicSet::default_set()));
    let text = String::from_utf8_lossy(data);
    let parsed = cfpd::proposal::parse(&text, &rules());
    let _ = cfpd::proposal::problems(&parsed.fields, &rules());
    let _ = cfpd::intake::file_topics(tagger, &parsed.fields, &TagOverrides::default());
});
