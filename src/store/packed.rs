//! Stored mail bytes, compressed.
//!
//! A queued mail is stored once (`outbox_raw`) and a plain-text mail
//! compresses to about half (an acknowledgment of 1.9 KB to 1.0 KB): on a
//! backlog, the bytes of the mails were the largest thing written (issue 18,
//! BENCHMARKS.md). zstd at level 1: intake is CPU-bound on two cores, and
//! zlib's fastest level (miniz) cost 15–25 µs a mail for the same size,
//! zstd a few. Rows written before this carry their bytes as they are, told
//! apart by the row's `compressed` column, never by guessing from the bytes
//! (hostile mail can start with anything).

/// `raw`, compressed (a zstd frame, level 1). Each thread keeps its
/// compression context: making one per mail cost more than compressing it.
pub fn pack(raw: &[u8]) -> Vec<u8> {
    thread_local! {
        static ZSTD: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    ZSTD.with(|z| {
        let mut z = z.borrow_mut();
        let z = match &mut *z {
            Some(z) => z,
            None => z.insert(zstd::bulk::Compressor::new(1).expect("a zstd context")),
        };
        z.compress(raw)
    })
    .expect("compressing into memory cannot fail")
}

/// The bytes a row holds: inflated when `compressed`, else as they are. An
/// error is a damaged row, reported as a decoding error of that row.
pub fn unpack(stored: Vec<u8>, compressed: bool) -> Result<Vec<u8>, sqlx::Error> {
    if !compressed {
        return Ok(stored);
    }
    zstd::stream::decode_all(stored.as_slice()).map_err(|e| sqlx::Error::Decode(Box::new(e)))
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
        let zstd_like = b"\x28\xb5\x2f\xfdabc".to_vec();
        assert_eq!(unpack(zstd_like.clone(), false).unwrap(), zstd_like);
        assert!(unpack(zstd_like, true).is_err());
    }
}
