//! The name the kernel keeps for a map or a program: `BPF_OBJ_NAME_LEN` is 16 bytes with the
//! terminating NUL, and `bpf_obj_name_cpy` takes only alphanumerics, `_` and `.`. So every such
//! name fits 15 ASCII bytes, held inline: an object's maps need no allocation for it.

use std::fmt;

/// Bytes the kernel keeps of an object name.
pub const KERNEL_NAME_LEN: usize = 15;

/// A name the kernel takes for a map (at most 15 bytes, each alphanumeric, `_` or `.`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KernelName {
    len: u8,
    bytes: [u8; KERNEL_NAME_LEN],
}

impl KernelName {
    /// The first 15 characters of `name`, each the kernel rejects as `_` (a multi-byte UTF-8
    /// character becomes one `_`), as libbpf sanitises map names.
    pub fn sanitized(name: &str) -> KernelName {
        KernelName::from_bytes(name.bytes())
    }

    /// [`KernelName::sanitized`] of the concatenated bytes of a name given in parts.
    pub(crate) fn from_bytes(name: impl Iterator<Item = u8>) -> KernelName {
        let mut out = KernelName::default();
        // Continuation bytes of a multi-byte character are skipped: it becomes one `_`.
        for b in name.filter(|b| b & 0xc0 != 0x80).take(KERNEL_NAME_LEN) {
            out.bytes[usize::from(out.len)] = if kernel_name_byte(b) { b } else { b'_' };
            out.len += 1;
        }
        out
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored, so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// Whether the kernel takes byte `b` in an object name (`bpf_obj_name_cpy`: alphanumerics,
/// `_` and `.`).
fn kernel_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

impl std::ops::Deref for KernelName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for KernelName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for KernelName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for KernelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KernelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::KernelName;

    #[test]
    fn names_are_cut_to_15_bytes_and_sanitised() {
        assert_eq!(KernelName::sanitized("my-map"), "my_map");
        assert_eq!(KernelName::sanitized("cafés"), "caf_s");
        assert_eq!(KernelName::sanitized("ααααααααααααααααα").as_str(), "_".repeat(15));
        assert_eq!(KernelName::sanitized("exactly_fifteen"), "exactly_fifteen");
        assert_eq!(KernelName::sanitized("sixteen_bytes_xx"), "sixteen_bytes_x");
        assert_eq!(KernelName::sanitized(""), "");
    }
}
