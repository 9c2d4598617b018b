//! The line structure of a message head, found in one pass (RFC 3261 §7:
//! lines end in CRLF; a bare LF is tolerated). The line ends found while
//! looking for the end of the head are kept, so that no line is searched
//! twice.

use smallvec::SmallVec;

/// Offsets of line feeds, kept without a heap allocation for the usual
/// message (a REGISTER has about fifteen lines).
pub(crate) type LineFeeds = SmallVec<[usize; 32]>;

/// Where the lines of a message head end.
#[derive(Debug)]
pub(crate) struct HeadIndex {
    /// Offset of the LF that ends each line of the head, start line first; the
    /// empty line that ends the head is not included.
    pub(crate) lfs: LineFeeds,
    /// Number of CR bytes from the scan start to `head_end`.
    pub(crate) crs: usize,
    /// Offset just after the LF of the last head line.
    pub(crate) head_end: usize,
    /// Offset of the first body byte.
    pub(crate) body_start: usize,
}

/// When the LF at `lf` is followed by an empty line, the offset after it.
#[inline]
fn blank_line_after(buf: &[u8], lf: usize) -> Option<usize> {
    match buf.get(lf + 1) {
        Some(b'\n') => Some(lf + 2),
        Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => Some(lf + 3),
        _ => None,
    }
}

/// Indexes the head that starts at `from`: every line end up to the empty
/// line that ends the head. `None` when there is no empty line (the message
/// is incomplete).
pub(crate) fn index_head(buf: &[u8], from: usize) -> Option<HeadIndex> {
    let from = from.min(buf.len());
    let mut lfs = LineFeeds::new();
    for lf in memchr::memchr_iter(b'\n', &buf[from..]) {
        let lf = from + lf;
        lfs.push(lf);
        if let Some(body_start) = blank_line_after(buf, lf) {
            let crs = memchr::memchr_iter(b'\r', &buf[from..=lf]).count();
            return Some(HeadIndex {
                lfs,
                crs,
                head_end: lf + 1,
                body_start,
            });
        }
    }
    None
}

/// Offsets of every LF in `text`.
pub(crate) fn line_feeds(text: &[u8]) -> LineFeeds {
    memchr::memchr_iter(b'\n', text).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::parse::header_section::find_head_end;

    fn lf_offsets(bytes: &[u8], from: usize, to: usize) -> Vec<usize> {
        (from..to).filter(|&i| bytes[i] == b'\n').collect()
    }

    #[test]
    fn heads() {
        let text = b"\r\nA\r\nB: c\r\n\r\nbody";
        let index = index_head(text, 2).unwrap();
        assert_eq!(index.lfs.as_slice(), [4, 10]);
        assert_eq!((index.head_end, index.body_start, index.crs), (11, 13, 2));
        assert!(index_head(b"A\r\nB: c\r\n\r", 0).is_none());
        assert!(index_head(b"", 3).is_none());
        let index = index_head(b"A\nB\n\n", 0).unwrap();
        assert_eq!(index.lfs.as_slice(), [1, 3]);
        assert_eq!((index.head_end, index.body_start, index.crs), (4, 5, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(3261),
            ..ProptestConfig::default()
        })]
        /// Same result as a byte-by-byte search.
        #[test]
        fn index_matches_a_plain_search(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a'), any::<u8>()],
                0..80,
            ),
            from in 0usize..6,
        ) {
            let from = from.min(bytes.len());
            let index = index_head(&bytes, from);
            match find_head_end(&bytes, from) {
                None => prop_assert!(index.is_none()),
                Some((head_end, body_start)) => {
                    let index = index.expect("a head");
                    prop_assert_eq!((index.head_end, index.body_start), (head_end, body_start));
                    prop_assert_eq!(index.lfs.to_vec(), lf_offsets(&bytes, from, head_end));
                    let crs = bytes[from..head_end].iter().filter(|b| **b == b'\r').count();
                    prop_assert_eq!(index.crs, crs);
                }
            }
            prop_assert_eq!(line_feeds(&bytes).to_vec(), lf_offsets(&bytes, 0, bytes.len()));
        }
    }
}
