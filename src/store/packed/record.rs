//! A proposal version's record (its fields and the topics it is filed
//! under), compressed.
//!
//! On a backlog, a version's JSON was the largest single thing PostgreSQL
//! logged: about 900 bytes a proposal, written once to the WAL and once to
//! the table (issue 18, BENCHMARKS.md). PostgreSQL compresses a value only
//! when its row passes about 2 KB, so cfpd does it: zstd level 1 against a
//! dictionary of the record's own shape (its keys and the default topics'
//! ids and names), which roughly halves a record.
//!
//! The stored value starts with one byte naming its format, written by cfpd
//! only (this column never holds anything a sender chose), so a later
//! dictionary is a new format byte and old rows stay readable.

use std::cell::RefCell;

use crate::proposal::{Fields, FiledTopic};

/// What is packed, as JSON: named, so a reader never depends on order.
#[derive(serde::Serialize)]
struct Packing<'a> {
    fields: &'a Fields,
    topics: &'a [FiledTopic],
}

/// [`Packing`], read back.
#[derive(serde::Deserialize)]
struct Unpacked {
    fields: Fields,
    topics: Vec<FiledTopic>,
}

/// A version's fields and topics as stored in `proposal_versions.record`.
pub fn pack(fields: &Fields, topics: &[FiledTopic]) -> Vec<u8> {
    pack_bytes(&to_json(fields, topics))
}

/// The JSON a record packs (and the dictionaries were made of).
fn to_json(fields: &Fields, topics: &[FiledTopic]) -> Vec<u8> {
    serde_json::to_vec(&Packing { fields, topics }).expect("fields and topics are plain data")
}

/// A stored record's fields and topics. Unlike the JSON columns of older
/// rows, which were always read leniently, a record that does not read back
/// is an error: nothing but cfpd writes it, so it is damage.
pub fn unpack(stored: &[u8]) -> Result<(Fields, Vec<FiledTopic>), sqlx::Error> {
    let json = unpack_bytes(stored)?;
    let r: Unpacked = serde_json::from_slice(&json)
        .map_err(|e| sqlx::Error::Decode(format!("stored proposal record: {e}").into()))?;
    Ok((r.fields, r.topics))
}

/// Format byte 1: a zstd frame made with [`DICTIONARY`].
const FORMAT_1: u8 = 1;

/// Format byte 2, what cfpd writes now: a zstd frame made with
/// [`DICTIONARY_2`].
const FORMAT_2: u8 = 2;

/// Records dictionary 1: a record's keys in the order serde writes them and
/// the default topics as filed (written by the `write_records_dictionary`
/// test). Frozen, like the mail dictionaries: rows packed with it must stay
/// readable, so a better one is a new file and a new format byte.
pub const DICTIONARY: &[u8] = include_bytes!("records1.json");

/// Records dictionary 2: dictionary 1's content with zstd's entropy tables
/// fitted to records (written by the `write_records_dictionary_2` test):
/// without them zstd built its tables anew for every record, most of what
/// packing one cost (see [`super::DICTIONARY_2`]).
pub const DICTIONARY_2: &[u8] = include_bytes!("records2.zdict");

/// Records dictionary 2's id (private range of the zstd format), written in
/// its frames.
#[cfg(test)]
const DICTIONARY_2_ID: u32 = 32771;

/// Records are small; anything claiming to be larger than this is damaged.
const MAX_RECORD: u64 = 16 << 20;

thread_local! {
    static COMPRESSOR: super::Compressors = const { RefCell::new(None) };
    static DECOMPRESSOR_1: super::Decompressors = const { RefCell::new(None) };
    static DECOMPRESSOR_2: super::Decompressors = const { RefCell::new(None) };
}

/// `json` (a record), as stored: the format byte, then the zstd frame.
fn pack_bytes(json: &[u8]) -> Vec<u8> {
    let frame = super::compress_with(&COMPRESSOR, DICTIONARY_2, json);
    let mut out = Vec::with_capacity(frame.len() + 1);
    out.push(FORMAT_2);
    out.extend_from_slice(&frame);
    out
}

/// The JSON a stored record holds. An error is a damaged row (or one
/// written by a later cfpd), reported as a decoding error of that row.
fn unpack_bytes(stored: &[u8]) -> Result<Vec<u8>, sqlx::Error> {
    let damaged = |why: &str| sqlx::Error::Decode(format!("stored proposal record: {why}").into());
    let Some((&format, frame)) = stored.split_first() else {
        return Err(damaged("empty"));
    };
    let (cell, dict) = match format {
        FORMAT_1 => (&DECOMPRESSOR_1, DICTIONARY),
        FORMAT_2 => (&DECOMPRESSOR_2, DICTIONARY_2),
        _ => return Err(damaged(&format!("unknown format {format}"))),
    };
    super::decompress_with(cell, dict, frame, MAX_RECORD).map_err(|why| damaged(&why.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record the dictionary has never seen: a real talk's wording, a
    /// topic that is not a default one.
    fn stranger() -> (Fields, Vec<FiledTopic>) {
        let fields = Fields {
            title: Some("Nanoseconds, and why your queries waste them".into()),
            format: Some("talk-45".into()),
            audience: Some("advanced".into()),
            abstract_text: Some(
                "We measure a request end to end with perf and eBPF, find where the \
                 time goes between the ORM, the driver and the kernel, and fix the \
                 three worst offenders live."
                    .into(),
            ),
            bio: Some("Grace writes compilers and measures everything.".into()),
            ..Default::default()
        };
        let topics = vec![FiledTopic {
            id: "observability".into(),
            name: "Observability and tracing".into(),
            score: 7.25,
            evidence: vec!["perf".into(), "eBPF".into(), "measure".into()],
        }];
        (fields, topics)
    }

    #[test]
    fn a_record_comes_back_unchanged_in_well_under_its_size() {
        let (fields, topics) = stranger();
        let json = to_json(&fields, &topics);
        let packed = pack(&fields, &topics);
        assert!(
            packed.len() * 100 < json.len() * 70,
            "{} of {} bytes",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack(&packed).unwrap(), (fields, topics));
        let empty = pack(&Fields::default(), &[]);
        assert_eq!(unpack(&empty).unwrap(), (Fields::default(), vec![]));
        for bytes in [&b""[..], b"{}", &[0u8, 255, 1][..]] {
            assert_eq!(unpack_bytes(&pack_bytes(bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn a_damaged_or_unknown_record_is_an_error_not_an_empty_one() {
        let (fields, topics) = stranger();
        let packed = pack(&fields, &topics);
        assert!(unpack(&[]).is_err());
        assert_eq!(packed[0], FORMAT_2);
        assert_eq!(
            zstd::zstd_safe::get_dict_id_from_frame(&packed[1..]).map(|id| id.get()),
            Some(DICTIONARY_2_ID)
        );
        let mut later = packed.clone();
        later[0] = 3;
        assert!(unpack(&later).is_err());
        assert!(unpack(&packed[..packed.len() / 2]).is_err());
        assert!(unpack(&[FORMAT_1, b'{', b'}']).is_err());
        assert!(unpack(&[FORMAT_2, b'{', b'}']).is_err());
        // A frame that decompresses to something other than a record.
        assert!(unpack(&pack_bytes(b"[1, 2]")).is_err());
    }

    /// Records packed before dictionary 2 (format 1) read as they did.
    #[test]
    fn a_format_1_record_still_reads() {
        let (fields, topics) = stranger();
        let json = to_json(&fields, &topics);
        let frame = zstd::bulk::Compressor::with_dictionary(1, DICTIONARY)
            .unwrap()
            .compress(&json)
            .unwrap();
        let stored = [&[FORMAT_1][..], &frame].concat();
        assert_eq!(unpack(&stored).unwrap(), (fields, topics));
    }
}

/// Writes records dictionary 1 to the file named by
/// `CFPD_WRITE_RECORDS_DICT`: a record with every key, then each default
/// topic as the tagger files it. Run by hand only to make a new dictionary
/// version (a version in use never changes).
#[cfg(test)]
#[test]
#[ignore = "writes a file; run by hand for a new dictionary version"]
fn write_records_dictionary() {
    let Ok(path) = std::env::var("CFPD_WRITE_RECORDS_DICT") else {
        return;
    };
    let fields = Fields {
        title: Some(String::new()),
        format: Some("talk-25".into()),
        audience: Some("intermediate".into()),
        topics: Some(vec![]),
        abstract_text: Some(String::new()),
        description: Some(String::new()),
        bio: Some(String::new()),
        ..Default::default()
    };
    let topics: Vec<FiledTopic> = crate::topics::TopicSet::default_set()
        .topics()
        .iter()
        .map(|t| FiledTopic {
            id: t.id.clone(),
            name: t.name.clone(),
            score: 1.5,
            evidence: vec![format!("declared: {}", t.id)],
        })
        .collect();
    let record = to_json(&fields, &topics);
    std::fs::write(path, record).unwrap();
}

/// Writes records dictionary 2 to the file named by
/// `CFPD_WRITE_RECORDS_DICT_2`: dictionary 1's content with entropy tables
/// fitted to records of every built-in mail's text, filed by the default
/// tagger. Run by hand only (a version in use never changes).
#[cfg(test)]
#[test]
#[ignore = "writes a file; run by hand for a new dictionary version"]
fn write_records_dictionary_2() {
    let Ok(path) = std::env::var("CFPD_WRITE_RECORDS_DICT_2") else {
        return;
    };
    let tagger = crate::topics::Tagger::new(crate::topics::TopicSet::default_set());
    let base = crate::outbox::samples::sample_fields();
    let samples: Vec<Vec<u8>> = (0..3)
        .flat_map(super::composed_builtins)
        .enumerate()
        .map(|(i, mail)| {
            // Each mail's body stands in for a proposal's text.
            let text = String::from_utf8_lossy(&mail).into_owned();
            let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
            let mut words = body.split_whitespace();
            let title: Vec<&str> = words.by_ref().take(4 + i % 7).collect();
            let fields = Fields {
                title: Some(title.join(" ")),
                abstract_text: Some(
                    words
                        .by_ref()
                        .take(40 + i % 60)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                description: (i % 2 == 0)
                    .then(|| words.by_ref().take(80).collect::<Vec<_>>().join(" ")),
                topics: Some(vec![["database", "testing", "web-frontend"][i % 3].into()]),
                co_speakers: None,
                notes: None,
                ..base.clone()
            };
            let topics = crate::intake::decide::file_topics(&tagger, &fields, &Default::default());
            to_json(&fields, &topics)
        })
        .collect();
    std::fs::write(
        path,
        super::finalize_dictionary(DICTIONARY, &samples, DICTIONARY_2_ID),
    )
    .unwrap();
}
