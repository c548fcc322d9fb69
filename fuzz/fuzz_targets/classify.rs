//! Raw bytes → `Inbound`: mail-parser plus the machine-mail classifier and the
//! body accessors intake uses. libfuzzer-sys's panic hook aborts before
//! `inbound::parse`'s `catch_unwind` can hide a panic, so any panic is a finding.
#![no_main]

use cfpd::intake::inbound;
use cfpd::intake::classify::OwnIdentity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let own = OwnIdentity::new("cfp@conf.example");
    if let Ok(m) = inbound::parse(data, &own) {
        let _ = m.body_text();
        let _ = m.reply_text();
        if let Some(f) = &m.from {
            let _ = inbound::same_address(&f.address, "cfp@conf.example");
        }
    }
});
