//! Name lookup: binary search when the producer sorted types by name, a hash index otherwise.
//!
//! Kernels since 7.x sort vmlinux BTF by name (anonymous types first), so bpfkit checks the order
//! once, with no allocation, and then binary-searches. Unsorted BTF (older kernels, objects) gets
//! an open-addressing hash table of 8 bytes per slot, built on the first lookup. Either way the
//! one-time cost is a single pass over the names, and matches come out in ascending id order.
//! Each blob in a split chain has its own index; lookups visit bases first.

use std::ops::ControlFlow;
use std::sync::OnceLock;

use crate::TypeId;
use crate::btf::Btf;
use crate::kind::Kind;

/// Lazily built name lookup state of one blob.
#[derive(Default)]
pub(crate) struct NameLookup {
    /// `Some(first_named)` when own types are in ascending name order from index `first_named`
    /// on (all before are anonymous): binary search, nothing built.
    sorted: OnceLock<Option<usize>>,
    /// Hash index over all named types, for lookups of any kind.
    all: OnceLock<HashIndex>,
    /// Hash index per raw kind 1..=19 (slot 0: kinds newer than this crate), for lookups by name
    /// and kind: indexing only the kind asked for (say 10k structs of 130k types) is much cheaper.
    by_kind: [OnceLock<HashIndex>; 20],
}

/// Open addressing, linear probing; slots hold `index + 1` of a type, 0 = empty. Entries for
/// one name are met in insertion (= ascending id) order.
struct HashIndex {
    slots: Box<[u32]>,
    mask: usize,
}

/// Which strategy a blob's name lookups use (for reports such as `bpfkit btf inspect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameIndexKind {
    /// Types are sorted by name: binary search, no index built.
    SortedByName,
    /// A hash index was built.
    Hashed,
}

/// Eight bytes at `i` (zero past the end), little-endian so that byte `k` is bits `8k..8k+8`.
#[inline(always)]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(chunk) = bytes.get(i..i + 8) {
        w.copy_from_slice(chunk);
    } else if let Some(rest) = bytes.get(i..) {
        w[..rest.len()].copy_from_slice(rest);
    }
    u64::from_le_bytes(w)
}

/// `strcmp(a, b) <= 0` for the NUL-terminated strings starting `a` and `b`, eight bytes at a
/// time (a slice's end counts as a NUL).
#[inline]
fn cstr_le(a: &[u8], b: &[u8]) -> bool {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut i = 0;
    loop {
        let (wa, wb) = (word_at(a, i), word_at(b, i));
        // Exact per-byte zero mask of `wa` (0x80 in each byte that is 0).
        let zero = !(((wa & LOW7) + LOW7) | wa | LOW7);
        if wa == wb {
            if zero != 0 || i >= a.len() {
                return true; // equal strings
            }
            i += 8;
            continue;
        }
        let first_diff = (wa ^ wb).trailing_zeros() / 8;
        let first_nul = if zero != 0 { zero.trailing_zeros() / 8 } else { 8 };
        if first_nul < first_diff {
            return true; // both end before they differ: equal
        }
        let shift = first_diff * 8;
        return (wa >> shift) as u8 <= (wb >> shift) as u8;
    }
}

/// Length of the NUL-terminated string at the start of `bytes` (all of it if there is no NUL),
/// eight bytes at a time: names are short and this runs once per type when indexing.
#[inline]
pub(crate) fn cstr_len(bytes: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let v = u64::from_le_bytes(w);
        let zero = v.wrapping_sub(LO) & !v & HI;
        if zero != 0 {
            return i + (zero.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && bytes[i] != 0 {
        i += 1;
    }
    i
}

#[inline]
fn hash_name(name: &[u8]) -> u32 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    (h ^ (h >> 29)) as u32
}

impl Btf {
    /// Name of the `index`-th own type (`b""` when anonymous or unreadable).
    #[inline]
    fn own_name(&self, index: usize) -> &[u8] {
        let name_off = self.endian().read_u32(self.own_type_section(), self.own_offset(index));
        // Fast path: the name is in this blob's own string section.
        let own = self.own_strings();
        if let Some(tail) = name_off.checked_sub(self.first_string_offset()).and_then(|r| own.get(r as usize..)) {
            return &tail[..cstr_len(tail)];
        }
        self.str_bytes_at(name_off).unwrap_or(b"")
    }

    #[inline]
    fn own_kind_raw(&self, index: usize) -> u8 {
        self.own_kinds().get(index).copied().unwrap_or(0)
    }

    /// `Some(first_named)` if own types are sorted by name; checked once, no allocation.
    fn sorted_from(&self) -> Option<usize> {
        *self.names.sorted.get_or_init(|| {
            let n = self.own_type_count();
            let types = self.own_type_section();
            let strings = self.own_strings();
            let (e, first_str) = (self.endian(), self.first_string_offset());
            let mut first_named = None;
            let mut prev: &[u8] = b"";
            let mut touched = 0u8;
            for i in 0..n {
                // Names are scattered over the string section: touch the one a few types ahead
                // so its cache miss overlaps with this comparison.
                let ahead = e.read_u32(types, self.own_offset(i + 16)).wrapping_sub(first_str);
                touched ^= strings.get(ahead as usize).copied().unwrap_or(0);
                // The name as the rest of the string section from its first byte (its NUL ends
                // it); a split's name in its base's strings comes as the exact slice instead.
                let off = e.read_u32(types, self.own_offset(i));
                let name = match off.checked_sub(first_str).and_then(|r| strings.get(r as usize..)) {
                    Some(tail) => tail,
                    None => self.own_name(i),
                };
                if !cstr_le(prev, name) {
                    return None;
                }
                if first_named.is_none() && name.first().is_some_and(|&b| b != 0) {
                    first_named = Some(i);
                }
                prev = name;
            }
            std::hint::black_box(touched);
            Some(first_named.unwrap_or(n))
        })
    }

    fn hash_index(&self, kind: Option<u8>) -> &HashIndex {
        let cell = match kind {
            None => &self.names.all,
            // Slot 0 holds every kind past ENUM64 (no type has kind 0; the visitor re-checks).
            Some(raw) => &self.names.by_kind[if (1..=19).contains(&raw) { raw as usize } else { 0 }],
        };
        cell.get_or_init(|| {
            let kinds = self.own_kinds();
            let wanted = |raw: u8| match kind {
                None => true,
                Some(k) if (1..=19).contains(&k) => raw == k,
                Some(_) => raw > 19,
            };
            let count = kinds.iter().filter(|&&raw| wanted(raw)).count();
            // Load factor <= 3/4 keeps probes short; 4-byte slots keep the table small.
            let cap = (count + count / 3 + 1).next_power_of_two().max(16);
            let mask = cap - 1;
            let mut slots = vec![0u32; cap].into_boxed_slice();
            for (i, _) in kinds.iter().enumerate().filter(|&(_, &raw)| wanted(raw)) {
                let name = self.own_name(i);
                if name.is_empty() {
                    continue;
                }
                let mut s = hash_name(name) as usize & mask;
                while slots[s] != 0 {
                    s = (s + 1) & mask;
                }
                slots[s] = i as u32 + 1;
            }
            HashIndex { slots, mask }
        })
    }

    /// Which name lookup strategy this blob uses (builds it if not yet built).
    pub fn name_index_kind(&self) -> NameIndexKind {
        if self.sorted_from().is_some() { NameIndexKind::SortedByName } else { NameIndexKind::Hashed }
    }

    /// Whether this blob's own types are sorted by name (anonymous first), as 7.x kernels emit.
    pub fn is_sorted_by_name(&self) -> bool {
        self.name_index_kind() == NameIndexKind::SortedByName
    }

    /// Visits this blob's own types named `name` (of raw kind `kind`, if given; the visitor
    /// must still check the kind), in ascending id order.
    fn visit_own(
        &self,
        name: &[u8],
        kind: Option<u8>,
        visit: &mut dyn FnMut(TypeId) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if name.is_empty() {
            return ControlFlow::Continue(());
        }
        let first = self.first_id();
        match self.sorted_from() {
            Some(first_named) => {
                let n = self.own_type_count();
                let (mut lo, mut hi) = (first_named, n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if self.own_name(mid) < name { lo = mid + 1 } else { hi = mid }
                }
                let mut i = lo;
                while i < n && self.own_name(i) == name {
                    visit(first + i as u32)?;
                    i += 1;
                }
            }
            None => {
                let HashIndex { slots, mask } = self.hash_index(kind);
                let mut s = hash_name(name) as usize & mask;
                loop {
                    let slot = slots[s];
                    if slot == 0 {
                        break;
                    }
                    let index = slot as usize - 1;
                    if self.own_name(index) == name {
                        visit(first + index as u32)?;
                    }
                    s = (s + 1) & mask;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Visits types named `name` in this blob and its bases, bases first, ascending ids.
    fn visit_all(
        &self,
        name: &[u8],
        kind: Option<u8>,
        visit: &mut dyn FnMut(TypeId) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if let Some(base) = self.base() {
            base.visit_all(name, kind, visit)?;
        }
        self.visit_own(name, kind, visit)
    }

    /// Every type named `name`, bases first, in ascending id order.
    pub fn find_all_by_name(&self, name: &str) -> Vec<TypeId> {
        let mut out = Vec::new();
        let _ = self.visit_all(name.as_bytes(), None, &mut |id| {
            out.push(id);
            ControlFlow::Continue(())
        });
        out
    }

    /// Every type named `name` of kind `kind`, bases first, in ascending id order.
    ///
    /// Names are not unique in BTF (static functions of different files, a struct and a typedef
    /// of the same name, the same struct in two modules): callers that need one answer should
    /// check for ambiguity instead of silently taking the first, as libbpf does.
    pub fn find_all_by_name_kind(&self, name: &str, kind: Kind) -> Vec<TypeId> {
        let mut out = Vec::new();
        let _ = self.visit_all(name.as_bytes(), Some(kind.raw()), &mut |id| {
            if self.kind_of(id) == Some(kind) {
                out.push(id);
            }
            ControlFlow::Continue(())
        });
        out
    }

    /// The lowest-id type named `name` of kind `kind`, bases first.
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        let mut found = None;
        let _ = self.visit_all(name.as_bytes(), Some(kind.raw()), &mut |id| {
            if self.kind_of(id) == Some(kind) {
                found = Some(id);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        found
    }

    /// Like [`find_by_name_kind`](Self::find_by_name_kind) but only among this blob's own types
    /// (a module's types without vmlinux's).
    pub fn find_own_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        let mut found = None;
        let first = self.first_id();
        let _ = self.visit_own(name.as_bytes(), Some(kind.raw()), &mut |id| {
            if Kind::from_raw(self.own_kind_raw((id - first) as usize)) == Some(kind) {
                found = Some(id);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::{cstr_le, cstr_len};

    #[test]
    fn word_compare_matches_strcmp() {
        let words: [&[u8]; 14] = [
            b"",
            b"a",
            b"ab",
            b"abc",
            b"abcdefgh",
            b"abcdefghi",
            b"abcdefgh\xff",
            b"abcdefgi",
            b"b",
            b"\xff",
            b"bpf_prog",
            b"bpf_prog_aux",
            b"bpf_prog_array",
            b"zzzzzzzzzzzzzzzzz",
        ];
        for a in words {
            for b in words {
                // As they sit in a string section: NUL-terminated, followed by other bytes.
                let mut ta = a.to_vec();
                ta.extend_from_slice(b"\0junkjunk");
                let mut tb = b.to_vec();
                tb.extend_from_slice(b"\0xx");
                assert_eq!(cstr_le(&ta, &tb), a <= b, "{a:?} <= {b:?}");
                assert_eq!(cstr_len(&ta), a.len());
                // A section end works as a terminator too.
                assert_eq!(cstr_le(a, b), a <= b, "unterminated {a:?} <= {b:?}");
            }
        }
    }
}
