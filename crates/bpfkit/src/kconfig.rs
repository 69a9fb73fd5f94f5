//! Values for `__kconfig` externs: the running kernel's build configuration
//! (`/proc/config.gz`, else `/boot/config-$(uname -r)`), plus the values libbpf defines itself
//! (`LINUX_KERNEL_VERSION`, `LINUX_HAS_SYSCALL_WRAPPER`, `LINUX_HAS_BPF_COOKIE`), and the
//! caller's overrides. Each value is encoded by the extern's own C type: `bool` (y/n), `enum
//! libbpf_tristate` (n = 0, y = 1, m = 2), `char` ('y', 'n', 'm'), integers of any size (range
//! checked), and `char[N]` strings.

use std::collections::HashMap;

use bpfkit_btf::{Btf, TypeDetails, TypeId};

/// `KERNEL_VERSION(a, b, c)` of a release string (`6.18.44-fc`), the patch level capped at 255
/// as the kernel's own macro does.
pub(crate) fn kernel_version(release: &str) -> Option<u32> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty());
    let (a, b) = (parts.next()?.parse::<u32>().ok()?, parts.next()?.parse::<u32>().ok()?);
    let c = parts.next().and_then(|p| p.parse::<u32>().ok()).unwrap_or(0).min(255);
    Some((a << 16) + (b << 8) + c)
}

/// The kernel's release (`uname -r`).
pub(crate) fn release() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("/proc/sys/kernel/osrelease: {e}"))
}

/// `CONFIG_*` values as written in the config file (`y`, `m`, `"text"`, `250`); options that
/// are "not set" map to `n`.
pub(crate) fn parse_config(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# ").and_then(|r| r.strip_suffix(" is not set")) {
            if rest.starts_with("CONFIG_") {
                out.insert(rest.to_owned(), "n".to_owned());
            }
        } else if let Some((k, v)) = line.split_once('=') {
            if k.starts_with("CONFIG_") {
                out.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    out
}

/// The running kernel's configuration, or why it cannot be read; read once per process (it
/// cannot change while the kernel runs).
pub(crate) fn running_config() -> Result<HashMap<String, String>, String> {
    static CONFIG: std::sync::OnceLock<Result<HashMap<String, String>, String>> = std::sync::OnceLock::new();
    CONFIG.get_or_init(read_running_config).clone()
}

/// The most a kernel configuration may decompress to (a full one is about 300 KiB).
const MAX_CONFIG_SIZE: usize = 64 << 20;

fn read_running_config() -> Result<HashMap<String, String>, String> {
    let mut tried = Vec::new();
    match std::fs::read("/proc/config.gz") {
        Ok(gz) => {
            let text =
                bpfkit_btf::gzip::decompress(&gz, MAX_CONFIG_SIZE).map_err(|e| format!("/proc/config.gz: {e}"))?;
            let text = String::from_utf8(text).map_err(|e| format!("/proc/config.gz: not UTF-8 text: {e}"))?;
            return Ok(parse_config(&text));
        }
        Err(e) => tried.push(format!("/proc/config.gz: {e}")),
    }
    let path = format!("/boot/config-{}", release()?);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_config(&text)),
        Err(e) => {
            tried.push(format!("{path}: {e}"));
            Err(format!("no kernel configuration found ({})", tried.join("; ")))
        }
    }
}

/// Encodes `value` (config file syntax) for an extern of type `ty` in `btf`, `size` bytes.
pub(crate) fn encode(btf: &Btf, ty: TypeId, size: u32, value: &str) -> Result<Vec<u8>, String> {
    let id = btf.resolve(ty).map_err(|e| e.to_string())?;
    let t = btf.type_by_id(id).map_err(|e| e.to_string())?;
    let tristate = |v: &str| match v {
        "y" => Some(1u64),
        "n" => Some(0),
        "m" => Some(2),
        _ => None,
    };
    let int_bytes = |n: i128, signed: bool| -> Result<Vec<u8>, String> {
        if !matches!(size, 1 | 2 | 4 | 8) {
            return Err(format!("a {size}-byte integer cannot hold a kconfig value"));
        }
        let bits = size * 8;
        let (min, max) =
            if signed { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, (1i128 << bits) - 1) };
        if n < min || n > max {
            return Err(format!("{value} does not fit a {}{bits}-bit integer", if signed { "signed " } else { "" }));
        }
        Ok((n as u128).to_le_bytes()[..size as usize].to_vec())
    };
    match t.details() {
        TypeDetails::Int(info) if info.encoding().is_bool() => match value {
            "y" => int_bytes(1, false),
            "n" => int_bytes(0, false),
            _ => Err(format!("{value} is not a bool value (y or n)")),
        },
        TypeDetails::Int(info) if info.encoding().is_char() && size == 1 && value.len() == 1 => {
            Ok(vec![value.as_bytes()[0]])
        }
        TypeDetails::Int(info) => {
            if let Some(v) = tristate(value) {
                return int_bytes(i128::from(v as u8), info.encoding().is_signed());
            }
            let (neg, digits) = match value.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, value),
            };
            let n = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
                Some(hex) => u128::from_str_radix(hex, 16),
                None => digits.parse::<u128>(),
            }
            .map_err(|_| format!("{value} is not a number"))?;
            let n = i128::try_from(n).map_err(|_| format!("{value} is too large"))?;
            int_bytes(if neg { -n } else { n }, info.encoding().is_signed() || neg)
        }
        TypeDetails::Enum(_) | TypeDetails::Enum64(_) => {
            let v = tristate(value).ok_or_else(|| format!("{value} is not a tristate value (y, n or m)"))?;
            v.to_le_bytes().get(..size as usize).map(<[u8]>::to_vec).ok_or_else(|| format!("a {size}-byte enum"))
        }
        TypeDetails::Array(a) => {
            let elem = btf.resolve(a.elem_type).map_err(|e| e.to_string())?;
            let is_char = matches!(btf.type_by_id(elem).map(|t| t.details()), Ok(TypeDetails::Int(i)) if i.bits() == 8);
            if !is_char {
                return Err("only char arrays can hold kconfig strings".into());
            }
            let text = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            if text.len() >= size as usize {
                return Err(format!("string of {} bytes does not fit char[{size}] with its NUL", text.len()));
            }
            let mut out = text.as_bytes().to_vec();
            out.resize(size as usize, 0);
            Ok(out)
        }
        _ => Err(format!("a {} cannot hold a kconfig value", t.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_config_lines() {
        assert_eq!(kernel_version("6.18.44-fc-v1252"), Some((6 << 16) + (18 << 8) + 44));
        assert_eq!(kernel_version("4.19.300"), Some((4 << 16) + (19 << 8) + 255));
        assert_eq!(kernel_version("7.2"), Some((7 << 16) + (2 << 8)));
        let c = parse_config("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_HZ=250\nCONFIG_S=\"x y\"\nX=1\n");
        assert_eq!(c.get("CONFIG_A").map(String::as_str), Some("y"));
        assert_eq!(c.get("CONFIG_B").map(String::as_str), Some("n"));
        assert_eq!(c.get("CONFIG_HZ").map(String::as_str), Some("250"));
        assert_eq!(c.get("CONFIG_S").map(String::as_str), Some("\"x y\""));
        assert!(!c.contains_key("X"));
    }
}
