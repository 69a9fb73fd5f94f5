//! gzip (RFC 1952) files of one member, as `/proc/config.gz` and `.ko.gz` modules are: the
//! header read here, the DEFLATE data inflated by `miniz_oxide`, and the trailer's CRC-32 and
//! length checked, so a corrupted file is an error and not silently wrong text. (A streaming
//! reader would also be a second copy of the inflater and a 16 KiB CRC table in every binary.)

use std::fmt;

/// `ID1 ID2`: the first two bytes of every gzip file.
pub const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Header flags (`FLG`).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;

/// `CM` 8: DEFLATE, the only method gzip defines.
const DEFLATE: u8 = 8;

/// Why a gzip file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GzipError(String);

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GzipError {}

fn bad(why: impl Into<String>) -> GzipError {
    GzipError(why.into())
}

/// The contents of the one-member gzip file `data`, at most `limit` bytes of them (more is an
/// error, so that a hostile file cannot make us allocate without bound).
pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    let header = data.get(..10).ok_or_else(|| bad("shorter than a gzip header (10 bytes)"))?;
    if header[..2] != MAGIC {
        return Err(bad(format!("not gzip: starts with {:02x} {:02x}, not 1f 8b", header[0], header[1])));
    }
    if header[2] != DEFLATE {
        return Err(bad(format!("compression method {} (gzip defines only 8, DEFLATE)", header[2])));
    }
    let flags = header[3];
    if flags & FRESERVED != 0 {
        return Err(bad(format!("reserved header flags set ({flags:#04x})")));
    }
    let mut at = 10;
    let truncated = || bad("header runs past the end of the file");
    if flags & FEXTRA != 0 {
        let len = data.get(at..at + 2).ok_or_else(truncated)?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            let rest = data.get(at..).ok_or_else(truncated)?;
            at += rest.iter().position(|&b| b == 0).ok_or_else(truncated)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        let stored = data.get(at..at + 2).ok_or_else(truncated)?;
        let crc = crc32(data.get(..at).ok_or_else(truncated)?) as u16;
        if u16::from_le_bytes([stored[0], stored[1]]) != crc {
            return Err(bad("header CRC does not match"));
        }
        at += 2;
    }
    // The member ends with CRC-32 and length (mod 2^32) of the contents.
    let body_end = data.len().checked_sub(8).filter(|&end| end >= at).ok_or_else(|| bad("no room for the trailer"))?;
    let trailer = &data[body_end..];
    let (crc, len) = (
        u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]),
        u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]),
    );
    let out = miniz_oxide::inflate::decompress_to_vec_with_limit(&data[at..body_end], limit).map_err(|e| {
        if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput {
            bad(format!("decompresses to more than {limit} bytes"))
        } else {
            bad(format!("bad DEFLATE data: {e}"))
        }
    })?;
    if out.len() as u32 != len {
        return Err(bad(format!(
            "{} bytes decompressed, the trailer says {len} (mod 2^32): truncated, or more than one member",
            out.len()
        )));
    }
    if crc32(&out) != crc {
        return Err(bad("CRC-32 of the contents does not match the trailer"));
    }
    Ok(out)
}

/// CRC-32 (the reflected polynomial 0xEDB88320 of gzip, zlib and PNG), a byte at a time.
fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| CRC_TABLE[usize::from(crc as u8 ^ b)] ^ (crc >> 8))
}

/// The CRC of each byte value, computed at compile time (1 KiB).
static CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::{crc32, decompress};

    /// `printf 'hello\n' | gzip -n`: no name, no timestamp.
    const HELLO: [u8; 26] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00,
        0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn reads_what_gzip_wrote_and_checks_it() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(decompress(&HELLO, 1 << 20).as_deref(), Ok(&b"hello\n"[..]));
        // A flipped bit in the data, the CRC or the length: each an error, none a panic. (The
        // low bit of each byte: the DEFLATE stream's last byte has 6 bits of padding above it.)
        for at in 10..HELLO.len() {
            let mut bad = HELLO;
            bad[at] ^= 0x01;
            assert!(decompress(&bad, 1 << 20).is_err(), "byte {at} flipped");
        }
        for len in 0..HELLO.len() {
            assert!(decompress(&HELLO[..len], 1 << 20).is_err(), "cut at {len}");
        }
        assert!(decompress(&HELLO, 3).is_err());
    }
}
