//! Stored mail bytes, compressed.
//!
//! A queued mail is stored once (`outbox_raw`) and so is an inbound one
//! (`message_raw`); on a backlog, their bytes were the largest thing written
//! (issue 18, BENCHMARKS.md). They are stored as zstd frames at level 1 (intake
//! is CPU-bound on two cores: zlib's fastest level cost 15–25 µs a mail,
//! zstd a few) against a dictionary of cfpd's own mails ([`DICTIONARY`]):
//! most of an acknowledgment is our headers and the template's sentences,
//! which then cost a few bytes; what the speaker wrote is compressed as
//! usual. Rows written before this carry their bytes as they are, told
//! apart by the row's `compressed` column, never by guessing from the bytes
//! (hostile mail can start with anything).

pub mod record;

use std::cell::RefCell;
use std::thread::LocalKey;

/// Dictionary 1 (`compressed = 1`): every built-in mail composed as cfpd
/// sends it, with sample data (written by the `write_dictionary` test).
/// Frozen: rows compressed with it must stay readable, so a better
/// dictionary is a new file and a new `compressed` value, never an edit.
pub const DICTIONARY: &[u8] = include_bytes!("dict1.eml");

thread_local! {
    static COMPRESSOR: Compressors = const { RefCell::new(None) };
    static DECOMPRESSOR: Decompressors = const { RefCell::new(None) };
}

/// A thread's compression context for one dictionary, made on first use:
/// making one per mail cost more than compressing the mail.
type Compressors = RefCell<Option<zstd::bulk::Compressor<'static>>>;
/// A thread's decompression context for one dictionary, made on first use.
type Decompressors = RefCell<Option<zstd::bulk::Decompressor<'static>>>;

/// `bytes` as a zstd frame (level 1) against `dict`, with this thread's
/// context for it (`cell`).
fn compress_with(
    cell: &'static LocalKey<Compressors>,
    dict: &'static [u8],
    bytes: &[u8],
) -> Vec<u8> {
    cell.with(|z| {
        let mut z = z.borrow_mut();
        let z = match &mut *z {
            Some(z) => z,
            None => {
                z.insert(zstd::bulk::Compressor::with_dictionary(1, dict).expect("a zstd context"))
            }
        };
        z.compress(bytes)
    })
    .expect("compressing into memory cannot fail")
}

/// Why stored bytes did not decompress: the row is damaged.
#[derive(Debug, thiserror::Error)]
enum Damaged {
    /// No frame header, or one announcing more than cfpd ever writes.
    #[error("not a zstd frame of a size cfpd writes")]
    NotAFrame,
    /// zstd refused the frame.
    #[error("{0}")]
    Zstd(#[from] std::io::Error),
}

/// What the zstd `frame` made against `dict` holds, if it says it holds at
/// most `limit` bytes.
fn decompress_with(
    cell: &'static LocalKey<Decompressors>,
    dict: &'static [u8],
    frame: &[u8],
    limit: u64,
) -> Result<Vec<u8>, Damaged> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= limit => n as usize,
        _ => return Err(Damaged::NotAFrame),
    };
    cell.with(|d| {
        let mut d = d.borrow_mut();
        let d = match &mut *d {
            Some(d) => d,
            None => d.insert(zstd::bulk::Decompressor::with_dictionary(dict)?),
        };
        Ok(d.decompress(frame, size)?)
    })
}

/// `raw`, compressed (a zstd frame, level 1, with [`DICTIONARY`]).
pub fn pack(raw: &[u8]) -> Vec<u8> {
    compress_with(&COMPRESSOR, DICTIONARY, raw)
}

/// The bytes a row holds: decompressed when `compressed`, else as they
/// are. An error is a damaged row, reported as a decoding error of that row.
pub fn unpack(stored: Vec<u8>, compressed: bool) -> Result<Vec<u8>, sqlx::Error> {
    if !compressed {
        return Ok(stored);
    }
    decompress_with(&DECOMPRESSOR, DICTIONARY, &stored, 1 << 30)
        .map_err(|why| sqlx::Error::Decode(format!("stored mail: {why}").into()))
}

/// The bytes of a row that has `raw` and `compressed` columns.
pub fn from_row(r: &sqlx::any::AnyRow) -> Result<Vec<u8>, sqlx::Error> {
    use sqlx::Row;
    unpack(r.try_get("raw")?, r.try_get::<i64, _>("compressed")? != 0)
}

/// [`from_row`] for a row from an outer join, whose bytes may be missing.
pub fn from_row_opt(r: &sqlx::any::AnyRow) -> Result<Option<Vec<u8>>, sqlx::Error> {
    use sqlx::Row;
    match r.try_get::<Option<Vec<u8>>, _>("raw")? {
        Some(raw) => Ok(Some(unpack(
            raw,
            r.try_get::<Option<i64>, _>("compressed")?.unwrap_or(0) != 0,
        )?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An acknowledgment of a proposal the dictionary has never seen, as
    /// cfpd composes it, stored in well under half its size.
    #[test]
    fn an_acknowledgment_is_stored_in_well_under_half_its_size() {
        use crate::outbox::{AutoSubmitted, Composer, Draft};
        let cfg = crate::config::Config::from_str(
            crate::config::EXAMPLE_CONFIG,
            std::path::Path::new("c.toml"),
        )
        .unwrap();
        let ack = crate::outbox::templates::Ack {
            conference: "PyCon Atlantis 2031",
            speaker_name: "Grace Hopper",
            reference: "P-0713",
            record: crate::outbox::templates::record(
                &crate::proposal::Fields {
                    title: Some("Nanoseconds, and why your queries waste them".into()),
                    format: Some("talk-45".into()),
                    abstract_text: Some(
                        "We measure a request end to end and find where the time goes.".into(),
                    ),
                    ..Default::default()
                },
                &[],
            ),
            topics: vec![],
            deadline: "2031-03-01 23:59 AoE",
            contact: &["papers@pycon-atlantis.example".to_string()],
        };
        let mail = Composer::new(&cfg)
            .unwrap()
            .compose(&Draft {
                kind: crate::model::MailKind::Ack,
                dedup_key: "k".into(),
                to: "grace@navy.example",
                to_name: Some("Grace Hopper"),
                subject: "[PyCon Atlantis 2031] P-0713 received: Nanoseconds".into(),
                body: askama::Template::render(&ack).unwrap(),
                in_reply_to: Some("cobol-1@navy.example"),
                references: &[],
                reply_token: Some("abcdefghijklmnopqrstuvwxyz234567"),
                auto: AutoSubmitted::AutoReplied,
                cause_message: None,
            })
            .unwrap();
        let packed = pack(&mail.raw);
        assert!(
            packed.len() * 100 < mail.raw.len() * 40,
            "{} of {} bytes",
            packed.len(),
            mail.raw.len()
        );
        assert_eq!(unpack(packed, true).unwrap(), mail.raw);
    }

    #[test]
    fn packed_bytes_come_back_unchanged_and_smaller() {
        let mail = "From: a@x\r\nSubject: s\r\n\r\n".to_string()
            + &"Thank you for your proposal.\r\n".repeat(40);
        for raw in [mail.as_bytes(), b"", &[0u8, 255, 1, 2][..]] {
            let p = pack(raw);
            assert_eq!(unpack(p, true).unwrap(), raw);
        }
        assert!(pack(mail.as_bytes()).len() < mail.len() / 4);
        // Our own sentences cost next to nothing; a stranger's text is
        // compressed as usual.
        let ours = &DICTIONARY[DICTIONARY.len() - 1500..];
        assert!(pack(ours).len() < 100, "{}", pack(ours).len());
        // Rows from before packing are read as they are; a damaged row is an error.
        let zstd_like = b"\x28\xb5\x2f\xfdabc".to_vec();
        assert_eq!(unpack(zstd_like.clone(), false).unwrap(), zstd_like);
        assert!(unpack(zstd_like, true).is_err());
    }
}

/// Writes a dictionary made from every built-in mail, composed as cfpd
/// sends it (headers and transfer encoding included), to the file named by
/// `CFPD_WRITE_PACK_DICT`. Run by hand only to make a new dictionary
/// version: a version in use never changes, or rows written with it could
/// not be read.
#[cfg(test)]
#[test]
#[ignore = "writes a file; run by hand for a new dictionary version"]
fn write_dictionary() {
    use crate::outbox::samples::{all, SampleConference};
    use crate::outbox::{AutoSubmitted, Composer, Draft};
    let Ok(path) = std::env::var("CFPD_WRITE_PACK_DICT") else {
        return;
    };
    let cfg = crate::config::Config::from_str(
        crate::config::EXAMPLE_CONFIG,
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let composer = Composer::new(&cfg).unwrap();
    let samples = all(&SampleConference {
        name: &cfg.conference.name,
        cfp_address: &cfg.conference.cfp_address,
        contact: &cfg.conference.contact,
        scale: cfg.form_spec(),
    });
    let mut out = Vec::new();
    // The acknowledgment last: zstd matches the end of a dictionary best.
    let mut samples: Vec<_> = samples.into_iter().collect();
    samples.sort_by_key(|s| s.name == "ack.txt");
    let mut seen = std::collections::HashSet::new();
    for s in samples {
        if !seen.insert(s.name) {
            continue;
        }
        let refs = vec!["proposal-1@speaker.example".to_string()];
        let mail = composer
            .compose(&Draft {
                kind: crate::model::MailKind::Ack,
                dedup_key: "k".into(),
                to: "speaker@example.org",
                to_name: Some("Speaker"),
                subject: format!("[{}] P-0001 received: a talk", cfg.conference.name),
                body: s.builtin.clone(),
                in_reply_to: Some("proposal-1@speaker.example"),
                references: &refs,
                reply_token: Some("abcdefghijklmnopqrstuvwxyz234567"),
                auto: AutoSubmitted::AutoReplied,
                cause_message: None,
            })
            .unwrap();
        out.extend_from_slice(&mail.raw);
    }
    std::fs::write(path, out).unwrap();
}
