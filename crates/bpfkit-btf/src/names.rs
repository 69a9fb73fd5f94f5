//! Name lookup: binary search when the producer sorted types by name, a hash index otherwise.
//!
//! Kernels since 7.x sort vmlinux BTF by name (anonymous types first), so bpfkit checks the order
//! on the first 16 bytes of each name, with no allocation, and then binary-searches. The
//! validation walk proves the order as it goes (see `validate.rs`); only when it cannot tell
//! (equal names stored at different offsets, a split's names in its base's strings) is the order
//! checked here, once, on the first lookup. Unsorted BTF (older kernels, objects) gets
//! an open-addressing hash table of 4 bytes per slot, built per kind when it pays: a program
//! that looks up a handful of types (the common ones sit at low ids in vmlinux) is served by a
//! scan that stops at the first match, and once the scans together have cost about as much as
//! the index would, the index is built (so many lookups cost at most about twice the index).
//! Lookups of every match (an extern's kfunc, checked for ambiguity) in a kind of many types
//! scan the whole kind the first [`FULL_SCANS_BEFORE_INDEX`] times: vmlinux's FUNC index is half
//! a MiB that a program with one kfunc would hold for the process. Matches come out in
//! ascending id order either way. Each blob in a split chain has its own index; lookups visit
//! bases first.

use std::ops::ControlFlow;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::TypeId;
use crate::btf::Btf;
use crate::bytes::prefetch;
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
    /// Work spent on scans per kind slot (see [`SCAN_NAME_COST`]): when it reaches the type
    /// count, the next lookup of that kind builds the index instead of scanning.
    scanned: [AtomicUsize; 20],
    /// All-match lookups answered by a full scan, per kind slot (see
    /// [`FULL_SCANS_BEFORE_INDEX`]).
    full_scans: [AtomicUsize; 20],
    /// Number of own types per kind slot, counted on first use (see [`Btf::kind_counts`]).
    kind_counts: OnceLock<[u32; 20]>,
}

/// How many types ahead the order check prefetches names.
const PREFETCH_AHEAD: usize = 32;

/// Scan cost of comparing one name, in units of skipping one type: a name comparison reads
/// the record and the string (two likely cache misses), skipping reads one byte of `kinds`.
const SCAN_NAME_COST: usize = 16;

/// All-match lookups of one kind served by scanning the kind whole before its index is built.
/// A scan compares each name of the kind with the one asked for, and most differ at the first
/// byte; indexing measures and hashes each name whole. So a few scans cost about one index in
/// instructions, and hold no memory: a load with one or two kfuncs never builds vmlinux's FUNC
/// index (4 bytes a slot, 512 KiB for 6.18's 60k functions).
const FULL_SCANS_BEFORE_INDEX: usize = 3;

/// Kinds with fewer types than this get their index on the first all-match lookup: it is at
/// most 128 KiB (4 bytes a slot, a load factor of 3/4 rounded up to a power of two), and a CO-RE
/// load asks for dozens of structs, for which scanning 125k types each time costs more.
const SCAN_ALL_MIN_COUNT: u32 = 1 << 14;

/// Open addressing, linear probing; slots hold `index + 1` of a type, 0 = empty. Entries for
/// one name are met in insertion (= ascending id) order.
struct HashIndex {
    slots: Box<[u32]>,
    mask: usize,
}

/// Which strategy a blob's name lookups use (for reports such as `bpfkit btf inspect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameIndexKind {
    /// Types are sorted by name (judged on the first 16 bytes of each name; runs of names that
    /// share those are searched whole): binary search, no index built.
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

/// The sort key of a name: its first 16 bytes, big-endian, with everything from its NUL on
/// zeroed (a slice's end counts as a NUL). Keys order as `strcmp` orders the names, except that
/// names sharing their first 16 bytes get equal keys.
#[inline(always)]
pub(crate) fn name_key(name: &[u8]) -> u128 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // Exact per-byte zero mask (0x80 in each byte that is 0), then every bit up to and
    // including the first NUL byte's (all bits when there is none).
    let up_to_nul = |w: u64| {
        let zero = !(((w & LOW7) + LOW7) | w | LOW7);
        (zero ^ zero.wrapping_sub(1), zero != 0)
    };
    let (w0, w1) = (word_at(name, 0), word_at(name, 8));
    let (keep0, ended) = up_to_nul(w0);
    let keep1 = up_to_nul(w1).0 & (ended as u64).wrapping_sub(1);
    (((w0 & keep0).swap_bytes() as u128) << 64) | (w1 & keep1).swap_bytes() as u128
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

/// Index slot of a raw kind: 1..=19 their own, 0 for every kind past ENUM64 (no type has kind
/// 0; visitors re-check the kind).
fn kind_slot(raw: u8) -> usize {
    if (1..=19).contains(&raw) { raw as usize } else { 0 }
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

    /// Whether the `index`-th own type is named `name` (not empty), without measuring its name
    /// first: a scan's names mostly differ from `name` at their first byte.
    #[inline]
    fn own_name_is(&self, index: usize, name: &[u8]) -> bool {
        let name_off = self.endian().read_u32(self.own_type_section(), self.own_offset(index));
        let own = self.own_strings();
        match name_off.checked_sub(self.first_string_offset()).and_then(|r| own.get(r as usize..)) {
            // The first byte decides most comparisons: checked before the rest.
            Some(tail) => {
                tail.first() == name.first() && tail.get(..name.len()) == Some(name) && tail.get(name.len()) == Some(&0)
            }
            None => self.str_bytes_at(name_off).is_ok_and(|n| n == name),
        }
    }

    #[inline]
    fn own_kind_raw(&self, index: usize) -> u8 {
        self.own_kinds().get(index).copied().unwrap_or(0)
    }

    /// The sort key of the `index`-th own type's name (see [`name_key`]).
    #[inline]
    fn own_key(&self, index: usize) -> u128 {
        let name_off = self.endian().read_u32(self.own_type_section(), self.own_offset(index));
        // Fast path: the name is in this blob's own string section; its NUL ends it.
        match name_off.checked_sub(self.first_string_offset()).and_then(|r| self.own_strings().get(r as usize..)) {
            Some(tail) => name_key(tail),
            None => name_key(self.str_bytes_at(name_off).unwrap_or(b"")),
        }
    }

    /// `Some(first_named)` if own types are in name order (all before `first_named` anonymous),
    /// judged on [`name_key`]s; checked once, no allocation (unless the validation walk already
    /// proved the order, see [`name_order_proved`](Self::name_order_proved)).
    ///
    /// Comparing keys instead of whole names keeps the check to two loads and a compare per
    /// type (sorted vmlinux has long runs of names sharing a prefix, such as `trace_event_raw_`,
    /// where whole-name comparisons branch unpredictably). Lookups then treat a run of equal
    /// keys as unordered and compare every name in it, so the answer is exact either way.
    fn sorted_from(&self) -> Option<usize> {
        *self.names.sorted.get_or_init(|| {
            let (types, strings, e) = (self.own_type_section(), self.own_strings(), self.endian());
            let first_str = self.first_string_offset();
            let name_at = |i: usize| e.read_u32(types, self.own_offset(i)).wrapping_sub(first_str) as usize;
            let count = self.own_type_count();
            let mut first_named = None;
            let mut prev = 0u128;
            for i in 0..count {
                // Names are scattered over the string section: ask for one a few types ahead.
                prefetch(strings, name_at(i + PREFETCH_AHEAD));
                let key = match strings.get(name_at(i)..) {
                    Some(tail) => name_key(tail),
                    // A split's name in its base's strings.
                    None => self.own_key(i),
                };
                if key < prev {
                    return None;
                }
                if first_named.is_none() && key != 0 {
                    first_named = Some(i);
                }
                prev = key;
            }
            Some(first_named.unwrap_or(count))
        })
    }

    /// Records that the validation walk proved the own types to be in name order (see
    /// [`Walked::name_ordered`](crate::validate::Walked)), so that lookups binary-search without
    /// running [`sorted_from`](Self::sorted_from)'s check. Anonymous types come first in that
    /// order (their key 0 is the smallest), so where the named ones start is a binary search.
    pub(crate) fn name_order_proved(&self) {
        let (mut lo, mut hi) = (0, self.own_type_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.own_key(mid) == 0 { lo = mid + 1 } else { hi = mid }
        }
        // A fresh blob: nothing else can have set the order yet.
        let _ = self.names.sorted.set(Some(lo));
    }

    /// Number of own types per kind slot (see [`kind_slot`]), counted once.
    fn kind_counts(&self) -> &[u32; 20] {
        self.names.kind_counts.get_or_init(|| {
            let mut counts = [0u32; 20];
            for &raw in self.own_kinds() {
                counts[kind_slot(raw)] += 1;
            }
            counts
        })
    }

    fn hash_index(&self, kind: Option<u8>) -> &HashIndex {
        let cell = match kind {
            None => &self.names.all,
            Some(raw) => &self.names.by_kind[kind_slot(raw)],
        };
        cell.get_or_init(|| {
            let kinds = self.own_kinds();
            let wanted = |raw: u8| match kind {
                None => true,
                Some(k) if (1..=19).contains(&k) => raw == k,
                Some(_) => raw > 19,
            };
            let count = match kind {
                None => kinds.len(),
                Some(raw) => self.kind_counts()[kind_slot(raw)] as usize,
            };
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

    /// Which name lookup strategy this blob uses (runs the order check if not yet run; an
    /// unsorted blob may still be answering by scans until its index pays off).
    pub fn name_index_kind(&self) -> NameIndexKind {
        if self.sorted_from().is_some() { NameIndexKind::SortedByName } else { NameIndexKind::Hashed }
    }

    /// Whether this blob's own types are sorted by name (anonymous first), as 7.x kernels emit,
    /// as far as the first 16 bytes of each name tell.
    pub fn is_sorted_by_name(&self) -> bool {
        self.name_index_kind() == NameIndexKind::SortedByName
    }

    /// Looks for the first own type named `name` of raw kind `kind` by scanning in id order,
    /// if this kind's scan budget allows. `None` when the budget ran out before an answer
    /// (the caller then uses the index); `Some(found)` otherwise.
    fn scan_first(&self, name: &[u8], kind: u8) -> Option<Option<usize>> {
        let spent = &self.names.scanned[kind_slot(kind)];
        // What is left of a budget of one full pass over the types.
        let left = self.own_type_count().saturating_sub(spent.load(Ordering::Relaxed));
        let (mut cost, mut last) = (0, 0);
        let mut outcome = None;
        for (i, &raw) in self.own_kinds().iter().enumerate() {
            if raw != kind {
                continue;
            }
            cost += i - last + SCAN_NAME_COST;
            last = i;
            if cost >= left {
                spent.fetch_add(cost, Ordering::Relaxed);
                return None;
            }
            if self.own_name_is(i, name) {
                outcome = Some(i);
                break;
            }
        }
        if outcome.is_none() {
            cost += self.own_type_count() - last;
        }
        spent.fetch_add(cost, Ordering::Relaxed);
        Some(outcome)
    }

    /// Visits every own type named `name` of raw kind `kind` by scanning the kind whole, if
    /// fewer than [`FULL_SCANS_BEFORE_INDEX`] such scans ran and the index is not built; `None`
    /// (nothing visited) otherwise.
    fn scan_all(
        &self,
        name: &[u8],
        kind: u8,
        visit: &mut dyn FnMut(TypeId) -> ControlFlow<()>,
    ) -> Option<ControlFlow<()>> {
        let slot = kind_slot(kind);
        if self.kind_counts()[slot] < SCAN_ALL_MIN_COUNT
            || self.names.by_kind[slot].get().is_some()
            || self.names.full_scans[slot].fetch_add(1, Ordering::Relaxed) >= FULL_SCANS_BEFORE_INDEX
        {
            return None;
        }
        let first = self.first_id();
        for (i, &raw) in self.own_kinds().iter().enumerate() {
            if raw == kind && self.own_name_is(i, name) {
                if let ControlFlow::Break(()) = visit(first + i as u32) {
                    return Some(ControlFlow::Break(()));
                }
            }
        }
        Some(ControlFlow::Continue(()))
    }

    /// Visits this blob's own types named `name` (of raw kind `kind`, if given; the visitor
    /// must still check the kind), in ascending id order. `first_only` says the visitor stops
    /// at the first match of that kind, which lets unsorted BTF scan instead of indexing.
    fn visit_own(
        &self,
        name: &[u8],
        kind: Option<u8>,
        first_only: bool,
        visit: &mut dyn FnMut(TypeId) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if name.is_empty() {
            return ControlFlow::Continue(());
        }
        let first = self.first_id();
        match self.sorted_from() {
            Some(first_named) => {
                let n = self.own_type_count();
                let wanted = name_key(name);
                let (mut lo, mut hi) = (first_named, n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if self.own_key(mid) < wanted { lo = mid + 1 } else { hi = mid }
                }
                // The run of types sharing the name's key: only their keys are known to be in
                // order, so every name in the run is compared.
                let mut i = lo;
                while i < n && self.own_key(i) == wanted {
                    if self.own_name(i) == name {
                        visit(first + i as u32)?;
                    }
                    i += 1;
                }
            }
            None => {
                match (first_only, kind) {
                    (true, Some(raw @ 1..=19)) => {
                        if let Some(found) = self.scan_first(name, raw) {
                            if let Some(i) = found {
                                visit(first + i as u32)?;
                            }
                            return ControlFlow::Continue(());
                        }
                    }
                    (false, Some(raw @ 1..=19)) => {
                        if let Some(flow) = self.scan_all(name, raw, visit) {
                            return flow;
                        }
                    }
                    _ => {}
                }
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
        first_only: bool,
        visit: &mut dyn FnMut(TypeId) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if let Some(base) = self.base() {
            base.visit_all(name, kind, first_only, visit)?;
        }
        self.visit_own(name, kind, first_only, visit)
    }

    /// Every type named `name`, bases first, in ascending id order.
    pub fn find_all_by_name(&self, name: &str) -> Vec<TypeId> {
        let mut out = Vec::new();
        let _ = self.visit_all(name.as_bytes(), None, false, &mut |id| {
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
        let _ = self.visit_all(name.as_bytes(), Some(kind.raw()), false, &mut |id| {
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
        let _ = self.visit_all(name.as_bytes(), Some(kind.raw()), true, &mut |id| {
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
        let _ = self.visit_own(name.as_bytes(), Some(kind.raw()), true, &mut |id| {
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
    use super::{FULL_SCANS_BEFORE_INDEX, SCAN_ALL_MIN_COUNT, cstr_len, name_key};
    use crate::{Btf, BtfBuilder, IntEncoding, Kind};

    #[test]
    fn all_match_lookups_scan_before_the_index_is_built() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        // Namesakes of several kinds, and names that share a prefix with the one asked for.
        let first = b.add_typedef("task", int);
        b.add_typedef("task_struct", int);
        let tas = b.add_typedef("tas", int);
        b.add_const(int);
        let second = b.add_typedef("task", int);
        b.add_ptr(int);
        // Enough typedefs for their index to be worth holding off (vmlinux has 60k FUNCs).
        for i in 0..SCAN_ALL_MIN_COUNT {
            b.add_typedef(&format!("filler{i}"), int);
        }
        b.add_struct("small", 0, &[]);
        let btf = Btf::parse(b.encode().unwrap()).unwrap();
        assert!(!btf.is_sorted_by_name());
        let slot = Kind::Typedef.raw() as usize;
        let asked: [(&str, &[u32]); 4] = [("task", &[first, second]), ("tas", &[tas]), ("ta", &[]), ("int", &[])];
        for lookup in 0..2 * FULL_SCANS_BEFORE_INDEX {
            let (name, expected) = asked[lookup % asked.len()];
            assert_eq!(btf.find_all_by_name_kind(name, Kind::Typedef), expected, "lookup {lookup} of {name}");
            // The index comes once the scans are used up, not before.
            let built = btf.names.by_kind[slot].get().is_some();
            assert_eq!(built, lookup >= FULL_SCANS_BEFORE_INDEX, "lookup {lookup}");
        }
        // A kind with few types is indexed on its first lookup.
        assert_eq!(btf.find_all_by_name_kind("small", Kind::Struct).len(), 1);
        assert!(btf.names.by_kind[Kind::Struct.raw() as usize].get().is_some());
    }

    #[test]
    fn name_keys_order_like_strcmp() {
        let words: [&[u8]; 18] = [
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
            b"trace_event_raw_",
            b"trace_event_raw_a",
            b"trace_event_raw_b",
            b"trace_event_rax",
            b"zzzzzzzzzzzzzzzzz",
        ];
        for a in words {
            for b in words {
                // As they sit in a string section: NUL-terminated, followed by other bytes.
                let mut ta = a.to_vec();
                ta.extend_from_slice(b"\0junkjunkjunkjunk");
                let mut tb = b.to_vec();
                tb.extend_from_slice(b"\0xx");
                let (ka, kb) = (name_key(&ta), name_key(&tb));
                // Keys never contradict strcmp, and tell names apart within 16 bytes.
                assert_eq!(ka.cmp(&kb), a[..a.len().min(16)].cmp(&b[..b.len().min(16)]), "{a:?} vs {b:?}");
                assert_eq!(cstr_len(&ta), a.len());
                // A slice's end works as a terminator too.
                assert_eq!(name_key(a), ka, "unterminated {a:?}");
            }
        }
    }
}
