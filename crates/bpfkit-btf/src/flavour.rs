//! Flavoured names, libbpf's CO-RE convention: `struct task_struct___old` is a variant of
//! `struct task_struct`. A name's *essential* part drops its last `___suffix` (the `___` with
//! something other than `_` on both sides); CO-RE candidates and extern flavours match on it.
//!
//! A relocation's candidates are every target type with the local type's essential name, exact
//! names and flavoured ones. Exact names come from the name index; flavoured ones (kernels have
//! next to none) from [`Btf::flavoured_types`], found once per blob by searching the string
//! section for `___` instead of reading every type's name.

use std::sync::OnceLock;

use crate::TypeId;
use crate::btf::Btf;

/// The essential part of `name`: everything before the last flavour separator.
///
/// ```
/// use bpfkit_btf::essential_name;
/// assert_eq!(essential_name("task_struct___old"), "task_struct");
/// assert_eq!(essential_name("a___b___c"), "a___b");
/// assert_eq!(essential_name("__x"), "__x");
/// ```
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    // A separator at `i..i + 3` needs a non-'_' byte before it and after it.
    let mut i = b.len().saturating_sub(4);
    while i >= 1 {
        if &b[i..i + 3] == b"___" && b[i - 1] != b'_' && b.get(i + 3).is_some_and(|&c| c != b'_') {
            return &name[..i];
        }
        i -= 1;
    }
    name
}

/// Whether two names are the same up to flavours (anonymous names match only each other).
pub fn same_essential(a: &str, b: &str) -> bool {
    essential_name(a) == essential_name(b)
}

/// What one blob knows about flavoured names, found on first use.
#[derive(Default)]
pub(crate) struct Flavours {
    found: OnceLock<Found>,
}

struct Found {
    /// Offsets (in the blob's string space) of its own strings that are flavoured names.
    strings: Box<[u32]>,
    /// Own types whose name is one of those (or one of a base's), in id order.
    types: Box<[TypeId]>,
}

impl Btf {
    /// This blob's own types whose name carries a flavour (`name___suffix`), in id order.
    pub fn flavoured_types(&self) -> &[TypeId] {
        &self.flavours_found().types
    }

    fn flavours_found(&self) -> &Found {
        self.flavours.found.get_or_init(|| {
            let strings = self.flavoured_strings();
            let bases: Vec<&[u32]> = std::iter::successors(self.base().map(|b| &**b), |b| b.base().map(|b| &**b))
                .map(|b| &*b.flavours_found().strings)
                .collect();
            let is_flavoured =
                |off: u32| strings.binary_search(&off).is_ok() || bases.iter().any(|s| s.binary_search(&off).is_ok());
            let types = if strings.is_empty() && bases.iter().all(|s| s.is_empty()) {
                Box::default()
            } else {
                (0..self.own_type_count() as u32)
                    .filter_map(|i| {
                        let ty = self.type_by_id(self.first_id() + i).ok()?;
                        is_flavoured(ty.name_offset()).then_some(ty.id())
                    })
                    .collect()
            };
            Found { strings, types }
        })
    }

    /// Offsets of this blob's own strings that are flavoured names, ascending.
    fn flavoured_strings(&self) -> Box<[u32]> {
        let strings = self.own_strings();
        let mut out: Vec<u32> = Vec::new();
        for at in memchr::memmem::find_iter(strings, b"___") {
            let start = strings[..at].iter().rposition(|&b| b == 0).map_or(0, |nul| nul + 1);
            if out.last().is_some_and(|&last| last as usize == start + self.first_string_offset() as usize) {
                continue; // a second `___` in a name already found
            }
            let len = crate::names::cstr_len(&strings[start..]);
            let Ok(name) = crate::text::identifier_str(&strings[start..start + len]) else { continue };
            if essential_name(name).len() != name.len() {
                out.push((start + self.first_string_offset() as usize) as u32);
            }
        }
        out.into_boxed_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::essential_name;

    #[test]
    fn flavours() {
        assert_eq!(essential_name("task_struct___old"), "task_struct");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("__x___y"), "__x");
        assert_eq!(essential_name("x____y"), "x____y");
        assert_eq!(essential_name("x___"), "x___");
        assert_eq!(essential_name("___x"), "___x");
        assert_eq!(essential_name(""), "");
        assert_eq!(essential_name("ab___c"), "ab");
    }
}
