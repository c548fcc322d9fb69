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

/// Dictionary 1: every built-in mail composed as cfpd sends it, with sample
/// data (written by the `write_dictionary` test). Its frames carry no
/// dictionary id. Frozen, like every dictionary: rows compressed with it
/// must stay readable, so a better dictionary is a new one, never an edit.
pub const DICTIONARY: &[u8] = include_bytes!("dict1.eml");

/// Dictionary 2, what cfpd packs with now: dictionary 1's content with
/// zstd's entropy tables, fitted to cfpd's mails (written by the
/// `write_dictionary_2` test). Dictionary 1 is raw content, so zstd built
/// its Huffman and FSE tables anew for every mail; that was most of the
/// time a mail took, and intake packs every mail it stores or queues
/// (BENCHMARKS.md, "Intake round 2, fourth pass"). Its frames name it by
/// [`DICTIONARY_2_ID`]: the `compressed` column says "a zstd frame", the
/// frame says which dictionary.
pub const DICTIONARY_2: &[u8] = include_bytes!("dict2.zdict");

/// Dictionary 2's id, written in each frame made with it (in the range the
/// zstd format leaves to private dictionaries).
pub const DICTIONARY_2_ID: u32 = 32770;

thread_local! {
    static COMPRESSOR: Compressors = const { RefCell::new(None) };
    static DECOMPRESSOR_1: Decompressors = const { RefCell::new(None) };
    static DECOMPRESSOR_2: Decompressors = const { RefCell::new(None) };
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
    /// The frame names a dictionary cfpd does not have.
    #[error("made with an unknown dictionary ({0})")]
    UnknownDictionary(u32),
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

/// `raw`, compressed (a zstd frame, level 1, with [`DICTIONARY_2`]).
pub fn pack(raw: &[u8]) -> Vec<u8> {
    compress_with(&COMPRESSOR, DICTIONARY_2, raw)
}

/// The bytes a row holds: decompressed when `compressed`, else as they
/// are. An error is a damaged row, reported as a decoding error of that row.
pub fn unpack(stored: Vec<u8>, compressed: bool) -> Result<Vec<u8>, sqlx::Error> {
    if !compressed {
        return Ok(stored);
    }
    let limit = 1 << 30;
    match zstd::zstd_safe::get_dict_id_from_frame(&stored) {
        None => decompress_with(&DECOMPRESSOR_1, DICTIONARY, &stored, limit),
        Some(id) if id.get() == DICTIONARY_2_ID => {
            decompress_with(&DECOMPRESSOR_2, DICTIONARY_2, &stored, limit)
        }
        Some(id) => Err(Damaged::UnknownDictionary(id.get())),
    }
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

    /// Mails packed before dictionary 2 (frames without a dictionary id)
    /// read as they did; a frame naming a dictionary cfpd does not have is
    /// an error, never bytes made with the wrong one.
    #[test]
    fn frames_say_which_dictionary_made_them() {
        let mail = "From: a@x\r\nSubject: s\r\n\r\nThank you for your proposal.\r\n";
        let packed = pack(mail.as_bytes());
        assert_eq!(
            zstd::zstd_safe::get_dict_id_from_frame(&packed).map(|id| id.get()),
            Some(DICTIONARY_2_ID)
        );
        let old = zstd::bulk::Compressor::with_dictionary(1, DICTIONARY)
            .unwrap()
            .compress(mail.as_bytes())
            .unwrap();
        assert_eq!(zstd::zstd_safe::get_dict_id_from_frame(&old), None);
        assert_eq!(unpack(old, true).unwrap(), mail.as_bytes());
        let stranger =
            finalize_dictionary(DICTIONARY, &composed_builtins(1), DICTIONARY_2_ID + 1000);
        let foreign = zstd::bulk::Compressor::with_dictionary(1, &stranger)
            .unwrap()
            .compress(mail.as_bytes())
            .unwrap();
        let err = unpack(foreign, true).unwrap_err().to_string();
        assert!(err.contains("unknown dictionary"), "{err}");
    }
}

/// Every built-in mail, composed as cfpd sends it (headers and transfer
/// encoding included), the acknowledgment last; with `variant` > 0 the
/// recipient, subject and ids differ, for zstd's statistics.
#[cfg(test)]
fn composed_builtins(variant: usize) -> Vec<Vec<u8>> {
    use crate::outbox::samples::{all, SampleConference};
    use crate::outbox::{AutoSubmitted, Composer, Draft};
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
    // The acknowledgment last: zstd matches the end of a dictionary best.
    let mut samples: Vec<_> = samples.into_iter().collect();
    samples.sort_by_key(|s| s.name == "ack.txt");
    let (to, name, title) = [
        ("speaker@example.org", "Speaker", "a talk"),
        (
            "maria.gonzalez@uni.example.edu",
            "María González",
            "Signals, done right",
        ),
        (
            "kwame@studio.example",
            "Kwame Mensah",
            "Testing HTMX views with pytest",
        ),
    ][variant % 3];
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in samples {
        if !seen.insert(s.name) {
            continue;
        }
        let refs = vec![format!("proposal-{}@speaker.example", variant + 1)];
        let mail = composer
            .compose(&Draft {
                kind: crate::model::MailKind::Ack,
                dedup_key: "k".into(),
                to,
                to_name: Some(name),
                subject: format!(
                    "[{}] P-{:04} received: {title}",
                    cfg.conference.name,
                    variant + 1
                ),
                body: s.builtin.clone(),
                in_reply_to: Some(&refs[0]),
                references: &refs,
                reply_token: Some("abcdefghijklmnopqrstuvwxyz234567"),
                auto: AutoSubmitted::AutoReplied,
                cause_message: None,
            })
            .unwrap();
        out.push(mail.raw);
    }
    out
}

/// Writes a dictionary made from every built-in mail to the file named by
/// `CFPD_WRITE_PACK_DICT`. Run by hand only to make a new dictionary
/// version: a version in use never changes, or rows written with it could
/// not be read. (This wrote dictionary 1.)
#[cfg(test)]
#[test]
#[ignore = "writes a file; run by hand for a new dictionary version"]
fn write_dictionary() {
    let Ok(path) = std::env::var("CFPD_WRITE_PACK_DICT") else {
        return;
    };
    std::fs::write(path, composed_builtins(0).concat()).unwrap();
}

/// `content` with zstd's dictionary header and entropy tables fitted to
/// `samples` at level 1, under `id`: what zstd's `ZDICT_finalizeDictionary`
/// makes. Only the dictionary generators call it; the `zstd` crate has no
/// safe binding for it.
#[cfg(test)]
pub(crate) fn finalize_dictionary(content: &[u8], samples: &[Vec<u8>], id: u32) -> Vec<u8> {
    let flat = samples.concat();
    let sizes: Vec<usize> = samples.iter().map(Vec::len).collect();
    let mut out = vec![0u8; content.len() + 64 * 1024];
    let params = zstd_sys::ZDICT_params_t {
        compressionLevel: 1,
        notificationLevel: 0,
        dictID: id,
    };
    // SAFETY: every pointer comes from a live slice with its own length;
    // `out` is writable for `out.len()` bytes, and zstd writes no more.
    let n = unsafe {
        zstd_sys::ZDICT_finalizeDictionary(
            out.as_mut_ptr().cast(),
            out.len(),
            content.as_ptr().cast(),
            content.len(),
            flat.as_ptr().cast(),
            sizes.as_ptr(),
            u32::try_from(sizes.len()).unwrap(),
            params,
        )
    };
    // SAFETY: a plain function of the returned code.
    assert_eq!(
        unsafe { zstd_sys::ZDICT_isError(n) },
        0,
        "ZDICT_finalizeDictionary failed"
    );
    out.truncate(n);
    out
}

/// Writes dictionary 2 to the file named by `CFPD_WRITE_PACK_DICT_2`:
/// dictionary 1's content, with entropy tables fitted to every built-in
/// mail in three variants and to the test fixtures' inbound mails. Run by
/// hand only, like [`write_dictionary`].
#[cfg(test)]
#[test]
#[ignore = "writes a file; run by hand for a new dictionary version"]
fn write_dictionary_2() {
    let Ok(path) = std::env::var("CFPD_WRITE_PACK_DICT_2") else {
        return;
    };
    let mut samples: Vec<Vec<u8>> = (0..3).flat_map(composed_builtins).collect();
    // Mail as speakers write it: inbound mail is packed with it too.
    for dir in ["tests/fixtures/human", "tests/fixtures/machine"] {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        samples.extend(files.iter().map(|f| std::fs::read(f).unwrap()));
    }
    std::fs::write(
        path,
        finalize_dictionary(DICTIONARY, &samples, DICTIONARY_2_ID),
    )
    .unwrap();
}
