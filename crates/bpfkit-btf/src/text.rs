//! Names as text: BTF strings (and ELF section and symbol names) are C identifiers, nearly
//! always ASCII, and are turned into `&str` on every name access.

/// `bytes` as UTF-8 text. ASCII (every C identifier) is recognised a word at a time instead of
/// byte by byte; anything else gets the full UTF-8 check.
///
/// ```
/// assert_eq!(bpfkit_btf::identifier_str(b"task_struct"), Ok("task_struct"));
/// assert!(bpfkit_btf::identifier_str(b"\xff").is_err());
/// ```
#[inline]
pub fn identifier_str(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: every ASCII byte sequence is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::identifier_str;

    #[test]
    fn agrees_with_the_full_check() {
        let samples: [&[u8]; 7] = [b"", b"a", b"bpf_map_def", "café".as_bytes(), b"\xc3", b"ok\x80", b"\xed\xa0\x80"];
        for s in samples {
            assert_eq!(identifier_str(s), std::str::from_utf8(s), "{s:?}");
        }
    }
}
