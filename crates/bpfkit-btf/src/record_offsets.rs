//! Where each own type's record starts in the type section, in about 2 bytes per type.
//!
//! Lookups by id need each record's start (records have variable lengths), and a `Btf` keeps
//! one per type for as long as it lives: for vmlinux (125k types) a table of `u32` is 500 KiB of
//! heap that a process loading with kernel types holds for its lifetime (the registry keeps
//! vmlinux). Every BTF record is a multiple of 4 bytes long (a 12-byte header, then 4-, 8- or
//! 12-byte parts), and runs of [`BLOCK`] records rarely span more than a few KiB, so each start
//! is stored as a `u16` count of 4-byte words past its block's first record, plus one `u32` per
//! block: 2.06 bytes per type. A block that does not fit (records of unknown kinds with odd
//! sizes, or 64 records spanning more than 256 KiB) turns the table into plain `u32`s.

/// Records per block: one `u32` base each.
const BLOCK: usize = 64;

/// The record starts of one blob.
#[derive(Debug, Default)]
pub(crate) struct RecordOffsets {
    /// The start of each block's first record.
    bases: Vec<u32>,
    /// Each record's start, in 4-byte words past its block's base.
    words: Vec<u16>,
    /// Every start as is, once some block did not fit the compact form (`bases` and `words`
    /// are then empty).
    full: Option<Vec<u32>>,
}

impl RecordOffsets {
    /// An empty table with room for `records` records (only touched pages cost memory).
    pub(crate) fn with_capacity(records: usize) -> RecordOffsets {
        RecordOffsets {
            bases: Vec::with_capacity(records.div_ceil(BLOCK)),
            words: Vec::with_capacity(records),
            full: None,
        }
    }

    /// The table of `starts` as they are (plain `u32`s, no copy): for a small blob, where
    /// the compact form would save a few hundred bytes at the price of an allocation.
    pub(crate) fn from_starts(starts: Vec<u32>) -> RecordOffsets {
        RecordOffsets { bases: Vec::new(), words: Vec::new(), full: Some(starts) }
    }

    /// Number of records.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match &self.full {
            Some(full) => full.len(),
            None => self.words.len(),
        }
    }

    /// The start of the `index`-th record.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<usize> {
        match &self.full {
            None => {
                let word = *self.words.get(index)? as usize;
                Some(*self.bases.get(index / BLOCK)? as usize + word * 4)
            }
            Some(full) => full.get(index).map(|&o| o as usize),
        }
    }

    /// Appends the starts in `batch` (ascending, following those already held).
    pub(crate) fn extend(&mut self, batch: &[u32]) {
        if let Some(full) = &mut self.full {
            full.extend_from_slice(batch);
            return;
        }
        let mut rest = batch;
        while !rest.is_empty() {
            let used = self.words.len() % BLOCK;
            let take = rest.len().min(BLOCK - used);
            let (part, tail) = rest.split_at(take);
            if used == 0 {
                self.bases.push(part[0]);
            }
            let base = self.bases.last().copied().unwrap_or(0);
            // Every start at or past the base (they ascend), a whole number of words from it,
            // and at most u16::MAX words away: checked for the part at once, without branches.
            let (mut odd, mut far) = (0u32, 0u32);
            for &o in part {
                let d = o.wrapping_sub(base);
                odd |= d & 3;
                far = far.max(d >> 2);
            }
            if odd != 0 || far > u16::MAX as u32 {
                self.go_full();
                if let Some(full) = &mut self.full {
                    full.extend_from_slice(rest);
                }
                return;
            }
            self.words.extend(part.iter().map(|&o| (o.wrapping_sub(base) >> 2) as u16));
            rest = tail;
        }
    }

    /// Calls `f(index, start)` for every record in order, decoding block by block.
    pub(crate) fn each(&self, mut f: impl FnMut(usize, usize)) {
        match &self.full {
            Some(full) => full.iter().enumerate().for_each(|(i, &o)| f(i, o as usize)),
            None => {
                for (b, (&base, words)) in self.bases.iter().zip(self.words.chunks(BLOCK)).enumerate() {
                    for (k, &w) in words.iter().enumerate() {
                        f(b * BLOCK + k, base as usize + w as usize * 4);
                    }
                }
            }
        }
    }

    /// Switches to plain `u32` starts (kept from the compact ones).
    #[cold]
    fn go_full(&mut self) {
        let full: Vec<u32> = (0..self.words.len()).filter_map(|i| self.get(i).map(|o| o as u32)).collect();
        self.bases = Vec::new();
        self.words = Vec::new();
        self.full = Some(full);
    }

    /// Gives back spare capacity (the walk reserved room for the most records a section of its
    /// size could hold; records average two to three headers).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.bases.shrink_to_fit();
        self.words.shrink_to_fit();
        if let Some(full) = &mut self.full {
            full.shrink_to_fit();
        }
    }

    /// Every start, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Heap bytes held.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.bases.capacity() * 4 + self.words.capacity() * 2 + self.full.as_ref().map_or(0, |f| f.capacity() * 4)
    }
}

#[cfg(test)]
mod tests {
    use super::{BLOCK, RecordOffsets};

    fn table(starts: &[u32], batch: usize) -> RecordOffsets {
        let mut t = RecordOffsets::with_capacity(starts.len());
        for chunk in starts.chunks(batch) {
            t.extend(chunk);
        }
        t
    }

    #[test]
    fn compact_starts_read_back_as_given() {
        // Records of 12 to 780 bytes, batches that do and do not line up with blocks.
        let mut starts = Vec::new();
        let mut at = 0u32;
        for i in 0..1000u32 {
            starts.push(at);
            at += 12 + 4 * (i * 37 % 193);
        }
        for batch in [1, 7, BLOCK, 256, 1000] {
            let t = table(&starts, batch);
            assert!(t.full.is_none(), "batch {batch}: stays compact");
            assert_eq!(t.iter().map(|o| o as u32).collect::<Vec<_>>(), starts, "batch {batch}");
            let mut each = Vec::new();
            t.each(|i, o| each.push((i, o as u32)));
            assert!(each.iter().enumerate().all(|(k, &(i, o))| k == i && o == starts[i]), "batch {batch}: each");
            assert_eq!(t.get(starts.len()), None);
            assert!(t.heap_bytes() < starts.len() * 3);
        }
    }

    #[test]
    fn a_block_that_does_not_fit_turns_the_table_plain() {
        for odd_start in [false, true] {
            let mut starts: Vec<u32> = (0..200).map(|i| i * 12).collect();
            // Record 150 is 300 KiB long (more than u16::MAX words from its block's base), or
            // record 150 has an odd length (a kind this crate does not know).
            let (jump, at) = if odd_start { (2, 151) } else { (300 << 10, 151) };
            for s in &mut starts[at..] {
                *s += jump;
            }
            let t = table(&starts, 256);
            assert!(t.full.is_some(), "odd start {odd_start}: plain u32s");
            assert_eq!(t.iter().map(|o| o as u32).collect::<Vec<_>>(), starts, "odd start {odd_start}");
            let mut each = Vec::new();
            t.each(|_, o| each.push(o as u32));
            assert_eq!(each, starts, "odd start {odd_start}: each");
        }
    }
}
