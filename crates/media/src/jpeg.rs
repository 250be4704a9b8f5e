//! Whether a JPEG is whole. The decoder is lenient (so that real cameras' small quirks pass) and
//! pads a file that stops early with grey, which would store a photo cut in half as if it were
//! whole; this walk refuses it instead.

/// Walks the JPEG's segments and the entropy-coded data of each scan, and answers whether the
/// first image reaches its end-of-image marker (EOI). Data after the EOI (a second image, a
/// maker's trailer) is not looked at.
pub(crate) fn is_complete(b: &[u8]) -> bool {
    walk(b).is_some()
}

fn walk(b: &[u8]) -> Option<()> {
    let mut i = 2; // after SOI
    loop {
        // Tolerate stray bytes before a marker, then any number of 0xFF fill bytes.
        i += b.get(i..)?.iter().position(|&x| x == 0xFF)?;
        i += b.get(i..)?.iter().position(|&x| x != 0xFF)?;
        let marker = *b.get(i)?;
        i += 1;
        match marker {
            0xD9 => return Some(()),               // EOI
            0x00 | 0x01 | 0xD0..=0xD7 => continue, // no length: stray stuffing, TEM, RSTn
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
        if length < 2 {
            return None;
        }
        i += length;
        if i > b.len() {
            return None;
        }
        if marker == 0xDA {
            // Start of scan: entropy-coded data runs to the next marker that is not a stuffed
            // zero (FF 00) or a restart marker (FF D0..D7).
            loop {
                i += b.get(i..)?.iter().position(|&x| x == 0xFF)?;
                match *b.get(i + 1)? {
                    0x00 | 0xD0..=0xD7 => i += 2,
                    0xFF => i += 1,
                    _ => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOI: [u8; 2] = [0xFF, 0xD8];

    fn jpeg(parts: &[&[u8]]) -> Vec<u8> {
        let mut v = SOI.to_vec();
        for part in parts {
            v.extend_from_slice(part);
        }
        v
    }

    #[test]
    fn whole_file_reaches_eoi() {
        let app0: &[u8] = &[0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB];
        let sos: &[u8] = &[0xFF, 0xDA, 0x00, 0x03, 0x01];
        let data: &[u8] = &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0xD9];
        assert!(is_complete(&jpeg(&[app0, sos, data])));
        // Trailing bytes after the EOI are fine.
        assert!(is_complete(&jpeg(&[app0, sos, data, b"trailer"])));
        // An FF D9 inside a segment (an embedded thumbnail) does not count as the end.
        let app1: &[u8] = &[0xFF, 0xE1, 0x00, 0x04, 0xFF, 0xD9];
        assert!(!is_complete(&jpeg(&[app1, sos, &data[..7]])));
    }

    #[test]
    fn cut_files_are_incomplete() {
        let sos: &[u8] = &[0xFF, 0xDA, 0x00, 0x03, 0x01];
        let data: &[u8] = &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9];
        let whole = jpeg(&[sos, data]);
        assert!(is_complete(&whole));
        for cut in 2..whole.len() {
            assert!(!is_complete(&whole[..cut]), "cut at {cut}");
        }
        // A segment whose length runs past the end.
        assert!(!is_complete(&jpeg(&[&[0xFF, 0xE0, 0x10, 0x00, 0x01]])));
    }
}
