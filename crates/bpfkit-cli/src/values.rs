//! Reading and printing the raw bytes of globals and map entries: integers for the sizes C
//! integers have, strings for `char` arrays, hex otherwise.

/// `VALUE` of `--global NAME=VALUE` as `size` bytes (native byte order): an integer (decimal,
/// `0x` hex, negative allowed, `true`/`false`) for 1, 2, 4 and 8 bytes; a string (NUL-padded)
/// for larger globals.
pub fn encode(value: &str, size: usize) -> Result<Vec<u8>, String> {
    if !matches!(size, 1 | 2 | 4 | 8) {
        let bytes = value.as_bytes();
        if bytes.len() >= size {
            return Err(format!("'{value}' does not fit in {size} bytes with its NUL"));
        }
        let mut out = bytes.to_vec();
        out.resize(size, 0);
        return Ok(out);
    }
    let number: i128 = match value {
        "true" => 1,
        "false" => 0,
        v => {
            let (negative, digits) = match v.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, v),
            };
            let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
                Some(hex) => i128::from_str_radix(hex, 16),
                None => digits.parse::<i128>(),
            }
            .map_err(|_| format!("'{value}' is not an integer"))?;
            if negative { -magnitude } else { magnitude }
        }
    };
    let bits = size * 8;
    let (min, max) = (-(1i128 << (bits - 1)), (1i128 << bits) - 1);
    if number < min || number > max {
        return Err(format!("{value} does not fit in {size} bytes"));
    }
    // Two's complement, truncated to `size` bytes, in the machine's order.
    let word = number as u64;
    Ok(if cfg!(target_endian = "big") {
        word.to_be_bytes()[8 - size..].to_vec()
    } else {
        word.to_le_bytes()[..size].to_vec()
    })
}

/// Bytes as a person reads them: an unsigned integer for 1, 2, 4 and 8 bytes (native order), a
/// string when they look like one, else hex (the first 32 bytes).
pub fn show(bytes: &[u8]) -> String {
    match bytes.len() {
        1 | 2 | 4 | 8 => {
            let mut word = [0u8; 8];
            if cfg!(target_endian = "big") {
                word[8 - bytes.len()..].copy_from_slice(bytes);
            } else {
                word[..bytes.len()].copy_from_slice(bytes);
            }
            u64::from_ne_bytes(word).to_string()
        }
        _ => {
            let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
            let printable = !text.is_empty() && text.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
            if printable && bytes[text.len()..].iter().all(|&b| b == 0) {
                return format!("\"{}\"", String::from_utf8_lossy(text));
            }
            let hex: Vec<String> = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
            let more = if bytes.len() > 32 { format!(" ... ({} bytes)", bytes.len()) } else { String::new() };
            format!("{}{more}", hex.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_strings_and_limits() {
        assert_eq!(encode("5", 4).unwrap(), 5u32.to_ne_bytes());
        assert_eq!(encode("-1", 2).unwrap(), (-1i16).to_ne_bytes());
        assert_eq!(encode("0xff", 1).unwrap(), [0xff]);
        assert_eq!(encode("true", 8).unwrap(), 1u64.to_ne_bytes());
        assert!(encode("256", 1).is_err());
        assert!(encode("-129", 1).is_err());
        assert!(encode("x", 4).is_err());
        assert_eq!(encode("abc", 6).unwrap(), b"abc\0\0\0");
        assert!(encode("abcdef", 6).is_err());
        assert_eq!(show(&7u32.to_ne_bytes()), "7");
        assert_eq!(show(b"bpfkit\0\0\0"), "\"bpfkit\"");
        assert_eq!(show(&[1, 2, 3]), "01 02 03");
    }
}
