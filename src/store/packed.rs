//! Stored mail bytes, deflated.
//!
//! A queued mail is stored once (`outbox_raw`) and a plain-text mail
//! deflates to about half (an acknowledgment of 1.9 KB to 1.0 KB): on a
//! backlog, the bytes of the mails were the largest thing written (issue 18,
//! BENCHMARKS.md). zlib at its fastest level costs a few microseconds a mail
//! and saves nearly as much as its slowest. Rows written before this carry
//! their bytes as they are, told apart by the row's `compressed` column,
//! never by guessing from the bytes (hostile mail can start with anything).

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

/// `raw`, deflated (zlib, fastest level).
pub fn pack(raw: &[u8]) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::with_capacity(raw.len() / 2 + 64), Compression::fast());
    z.write_all(raw)
        .and_then(|()| z.finish())
        .expect("deflating into memory cannot fail")
}

/// The bytes a row holds: inflated when `compressed`, else as they are. An
/// error is a damaged row, reported as a decoding error of that row.
pub fn unpack(stored: Vec<u8>, compressed: bool) -> Result<Vec<u8>, sqlx::Error> {
    if !compressed {
        return Ok(stored);
    }
    let mut out = Vec::with_capacity(stored.len() * 3);
    ZlibDecoder::new(stored.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_bytes_come_back_unchanged_and_smaller() {
        let mail = "From: a@x\r\nSubject: s\r\n\r\n".to_string()
            + &"Thank you for your proposal.\r\n".repeat(40);
        for raw in [mail.as_bytes(), b"", &[0u8, 255, 1, 2][..]] {
            let p = pack(raw);
            assert_eq!(unpack(p, true).unwrap(), raw);
        }
        assert!(pack(mail.as_bytes()).len() < mail.len() / 4);
        // Rows from before packing are read as they are; a damaged row is an error.
        assert_eq!(unpack(b"x\x9cabc".to_vec(), false).unwrap(), b"x\x9cabc");
        assert!(unpack(b"x\x9cabc".to_vec(), true).is_err());
    }
}
