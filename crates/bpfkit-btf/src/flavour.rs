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

/// Bytes of string space per bit of the bitmap that pre-filters names (see `flavours_found`).
const STRETCH: usize = 256;

/// What one blob knows about flavoured names, found on first use.
#[derive(Default)]
pub(crate) struct Flavours {
    found: OnceLock<Found>,
}

struct Found {
    /// The own strings that hold a flavour separator, as ranges of offsets in the blob's
    /// string space, ascending: a name pointing anywhere into one (names may start inside a
    /// string) may carry a flavour, and only those are checked.
    strings: Box<[(u32, u32)]>,
    /// Own types whose name carries a flavour, in id order.
    types: Box<[TypeId]>,
}

impl Btf {
    /// This blob's own types whose name carries a flavour (`name___suffix`), in id order.
    pub fn flavoured_types(&self) -> &[TypeId] {
        &self.flavours_found().types
    }

    fn flavours_found(&self) -> &Found {
        self.flavours.found.get_or_init(|| {
            let strings = self.strings_with_separators();
            let bases: Vec<&[(u32, u32)]> =
                std::iter::successors(self.base().map(|b| &**b), |b| b.base().map(|b| &**b))
                    .map(|b| &*b.flavours_found().strings)
                    .collect();
            let within = |ranges: &[(u32, u32)], off: u32| {
                let i = ranges.partition_point(|&(start, _)| start <= off);
                i > 0 && off < ranges[i - 1].1
            };
            let types = if strings.is_empty() && bases.iter().all(|s| s.is_empty()) {
                Box::default()
            } else {
                // Every own record's name offset (its first word), read straight from the type
                // section: only the few names inside a listed string are looked at further. A
                // bitmap of which 256-byte stretches of the string space hold a listed string
                // (or a base's) rejects almost every name with one bit test.
                let (section, endian, first) = (self.own_type_section(), self.endian(), self.first_id());
                let end = self.strings_len() as usize;
                let mut stretches = vec![0u64; end.div_ceil(STRETCH * 64)];
                for &(lo, hi) in strings.iter().chain(bases.iter().flat_map(|b| b.iter())) {
                    for s in lo as usize / STRETCH..=(hi as usize).saturating_sub(1) / STRETCH {
                        if let Some(word) = stretches.get_mut(s / 64) {
                            *word |= 1 << (s % 64);
                        }
                    }
                }
                let maybe = |off: u32| {
                    let s = off as usize / STRETCH;
                    stretches.get(s / 64).is_some_and(|w| w >> (s % 64) & 1 != 0)
                };
                let mut found = Vec::new();
                self.each_own_offset(|i, at| {
                    let off = endian.read_u32(section, at);
                    if maybe(off) && (within(&strings, off) || bases.iter().any(|b| within(b, off))) {
                        let id = first + i as u32;
                        let name = self.type_by_id(id).and_then(|t| t.name());
                        if name.is_ok_and(|name| essential_name(name).len() != name.len()) {
                            found.push(id);
                        }
                    }
                });
                found.into_boxed_slice()
            };
            Found { strings, types }
        })
    }

    /// The own strings holding a flavour separator (`___` with something other than `_` on both
    /// sides), as ascending offset ranges (NUL excluded). A run of four or more `_` is no
    /// separator, and the search finds such a run's first three.
    fn strings_with_separators(&self) -> Box<[(u32, u32)]> {
        let strings = self.own_strings();
        let first = self.first_string_offset() as usize;
        let mut out: Vec<(u32, u32)> = Vec::new();
        let name_byte = |b: Option<&u8>| b.is_some_and(|&b| b != 0 && b != b'_');
        for at in memchr::memmem::find_iter(strings, b"___") {
            if !(at > 0 && name_byte(strings.get(at - 1)) && name_byte(strings.get(at + 3))) {
                continue;
            }
            if out.last().is_some_and(|&(_, end)| end as usize > at + first) {
                continue; // another `___` in a string already listed
            }
            let start = strings[..at].iter().rposition(|&b| b == 0).map_or(0, |nul| nul + 1);
            let end = at + crate::names::cstr_len(&strings[at..]);
            out.push(((start + first) as u32, (end + first) as u32));
        }
        out.into_boxed_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::essential_name;
    use crate::{Btf, BtfBuilder, IntEncoding};

    #[test]
    fn flavoured_types_include_names_inside_other_strings() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let whole = b.add_string("ab_x___y");
        let plain = b.add_typedef("plain___", int); // `___` at the end: no flavour
        let four = b.add_typedef("a____b", int); // four `_`: no separator
        let mut named = |off: u32| {
            let id = b.add_typedef("", int);
            if let Some(r) = b.record_mut(id) {
                r.name_off = off;
            }
            id
        };
        let (ab_x, x, y, inner) = (named(whole), named(whole + 3), named(whole + 7), named(whole + 5));
        let btf = Btf::parse(b.encode().unwrap()).unwrap();
        // "ab_x___y" and "x___y" are flavoured; "y" and "__y" ("___" without a non-`_` before) are not.
        assert_eq!(btf.flavoured_types(), &[ab_x, x]);
        assert!(![plain, four, y, inner].iter().any(|id| btf.flavoured_types().contains(id)));
    }

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
