//! Reading and printing the raw bytes of globals and map entries as their C types say: signed
//! and unsigned integers, `bool`, enums, `char` arrays as strings, anything else as hex. The type
//! comes from the object's BTF (the global's VAR); without BTF, from the size alone (integers for
//! 1, 2, 4 and 8 bytes).

use bpfkit_btf::{Btf, Kind, TypeDetails, TypeId};

/// How a value's bytes read as C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An unsigned integer (or pointer, or unsigned enum) of this many bytes.
    Unsigned(usize),
    /// A signed integer (or signed enum) of this many bytes.
    Signed(usize),
    /// `bool`.
    Bool,
    /// A `char` array of this many bytes: a NUL-padded string.
    Chars(usize),
    /// Anything else (structs, other arrays, `__int128`): bytes, shown and set as hex.
    Bytes(usize),
}

impl Shape {
    /// The shape of a value of `size` bytes with no type information.
    pub fn of_size(size: usize) -> Shape {
        if matches!(size, 1 | 2 | 4 | 8) { Shape::Unsigned(size) } else { Shape::Bytes(size) }
    }

    /// The shape of type `ty` of `btf` (typedefs and qualifiers followed), `size` bytes long.
    pub fn of_type(btf: &Btf, ty: TypeId, size: usize) -> Shape {
        let Ok(t) = btf.resolve(ty).and_then(|id| btf.type_by_id(id)) else { return Shape::of_size(size) };
        let int = |signed: bool| {
            if !matches!(size, 1 | 2 | 4 | 8) {
                Shape::Bytes(size)
            } else if signed {
                Shape::Signed(size)
            } else {
                Shape::Unsigned(size)
            }
        };
        match t.details() {
            TypeDetails::Int(info) if info.encoding().is_bool() => Shape::Bool,
            TypeDetails::Int(info) => int(info.encoding().is_signed()),
            TypeDetails::Enum(_) | TypeDetails::Enum64(_) => int(t.kind_flag()),
            TypeDetails::Ptr(_) => int(false),
            TypeDetails::Array(a) => {
                let elem = btf.resolve(a.elem_type).and_then(|id| btf.type_by_id(id));
                let is_char = elem.is_ok_and(|e| {
                    matches!(e.details(), TypeDetails::Int(i) if i.encoding().is_char() || e.size() == Some(1))
                        && e.kind() == Kind::Int
                });
                if is_char { Shape::Chars(size) } else { Shape::Bytes(size) }
            }
            _ => Shape::Bytes(size),
        }
    }

    fn size(self) -> usize {
        match self {
            Shape::Unsigned(n) | Shape::Signed(n) | Shape::Chars(n) | Shape::Bytes(n) => n,
            Shape::Bool => 1,
        }
    }
}

/// `VALUE` of `--global NAME=VALUE` as bytes (native byte order) of `shape`: integers in decimal
/// or `0x` hex (negative allowed for signed ones), `true`/`false` for `bool` (and integers),
/// a string for `char` arrays, `0x` followed by exactly the value's bytes in hex otherwise.
pub fn encode(value: &str, shape: Shape) -> Result<Vec<u8>, String> {
    let size = shape.size();
    match shape {
        Shape::Chars(_) => {
            let bytes = value.as_bytes();
            if bytes.len() >= size {
                return Err(format!("'{value}' does not fit in {size} bytes with its NUL"));
            }
            let mut out = bytes.to_vec();
            out.resize(size, 0);
            Ok(out)
        }
        Shape::Bytes(_) => {
            let hex = value
                .strip_prefix("0x")
                .ok_or_else(|| format!("a {size}-byte value is given as 0x and {} hex digits", size * 2))?;
            if hex.len() != size * 2 {
                return Err(format!("a {size}-byte value needs {} hex digits after 0x, got {}", size * 2, hex.len()));
            }
            (0..size)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| format!("'{value}' is not hex")))
                .collect()
        }
        Shape::Bool | Shape::Unsigned(_) | Shape::Signed(_) => {
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
            let (min, max) = match shape {
                Shape::Bool => (0, 1),
                Shape::Signed(_) => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
                _ => (0, (1i128 << bits) - 1),
            };
            if number < min || number > max {
                return Err(format!("{value} is out of range for this {size}-byte {}", kind_word(shape)));
            }
            // Two's complement, truncated to `size` bytes, in the machine's order.
            let word = number as u64;
            Ok(if cfg!(target_endian = "big") {
                word.to_be_bytes()[8 - size..].to_vec()
            } else {
                word.to_le_bytes()[..size].to_vec()
            })
        }
    }
}

fn kind_word(shape: Shape) -> &'static str {
    match shape {
        Shape::Signed(_) => "signed integer",
        Shape::Bool => "bool",
        _ => "unsigned integer",
    }
}

/// Bytes as a person reads them, by `shape` (bytes of another length than the shape's are hex).
pub fn show(bytes: &[u8], shape: Shape) -> String {
    let word = || {
        let mut w = [0u8; 8];
        if cfg!(target_endian = "big") {
            w[8 - bytes.len()..].copy_from_slice(bytes);
        } else {
            w[..bytes.len()].copy_from_slice(bytes);
        }
        u64::from_ne_bytes(w)
    };
    let integer = matches!(bytes.len(), 1 | 2 | 4 | 8) && bytes.len() == shape.size();
    match shape {
        Shape::Unsigned(_) if integer => word().to_string(),
        Shape::Signed(_) if integer => {
            let shift = 64 - 8 * bytes.len() as u32;
            (((word() << shift) as i64) >> shift).to_string()
        }
        Shape::Bool if bytes.len() == 1 => if bytes[0] != 0 { "true" } else { "false" }.to_owned(),
        Shape::Chars(_) => {
            let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
            format!("\"{}\"", String::from_utf8_lossy(text).escape_default())
        }
        _ => {
            let hex: Vec<String> = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
            let more = if bytes.len() > 32 { format!(" ... ({} bytes)", bytes.len()) } else { String::new() };
            format!("{}{more}", hex.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit_btf::{BtfBuilder, IntEncoding};

    #[test]
    fn shapes_come_from_btf() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
        let ch = b.add_int("char", 1, IntEncoding(3));
        let boolean = b.add_int("_Bool", 1, IntEncoding::BOOL);
        let comm = b.add_array(ch, int, 8);
        let ints = b.add_array(int, int, 4);
        let btf = Btf::parse(b.encode().unwrap()).unwrap();
        assert_eq!(Shape::of_type(&btf, int, 4), Shape::Signed(4));
        assert_eq!(Shape::of_type(&btf, uint, 4), Shape::Unsigned(4));
        assert_eq!(Shape::of_type(&btf, boolean, 1), Shape::Bool);
        assert_eq!(Shape::of_type(&btf, comm, 8), Shape::Chars(8));
        assert_eq!(Shape::of_type(&btf, ints, 16), Shape::Bytes(16));
    }

    #[test]
    fn values_by_shape() {
        assert_eq!(encode("5", Shape::Unsigned(4)).unwrap(), 5u32.to_ne_bytes());
        assert_eq!(encode("-1", Shape::Signed(2)).unwrap(), (-1i16).to_ne_bytes());
        assert!(encode("-1", Shape::Unsigned(2)).is_err());
        assert!(encode("128", Shape::Signed(1)).is_err());
        assert_eq!(encode("0xff", Shape::Unsigned(1)).unwrap(), [0xff]);
        assert_eq!(encode("true", Shape::Bool).unwrap(), [1]);
        assert!(encode("2", Shape::Bool).is_err());
        assert_eq!(encode("abc", Shape::Chars(4)).unwrap(), b"abc\0");
        assert!(encode("abcd", Shape::Chars(4)).is_err());
        assert_eq!(encode("0x0102", Shape::Bytes(2)).unwrap(), [1, 2]);
        assert!(encode("12", Shape::Bytes(2)).is_err());
        assert_eq!(show(&(-7i32).to_ne_bytes(), Shape::Signed(4)), "-7");
        assert_eq!(show(&u32::MAX.to_ne_bytes(), Shape::Unsigned(4)), "4294967295");
        assert_eq!(show(b"bpfkit\0\0", Shape::Chars(8)), "\"bpfkit\"");
        assert_eq!(show(&[1], Shape::Bool), "true");
        assert_eq!(show(&[1, 2, 3], Shape::Bytes(3)), "01 02 03");
        assert_eq!(show(&7u64.to_ne_bytes(), Shape::of_size(8)), "7");
    }
}
