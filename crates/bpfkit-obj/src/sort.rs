//! One sort for every table the object model orders: each by a `u128` key built from its own
//! fields. Most of these tables arrive in order already (clang writes relocations, `.BTF.ext`
//! records and symbols in order), so a sort is mostly a check; and one shared sort of
//! `(key, index)` pairs keeps the code small where a sort per element type would compile the
//! whole sorting machinery once per type (about 5 KiB each).

/// Sorts `items` by `key`, keeping the order of equal keys (a stable sort).
pub(crate) fn sort_by_key<T>(items: &mut [T], key: impl Fn(&T) -> u128) {
    if items.windows(2).all(|pair| key(&pair[0]) <= key(&pair[1])) {
        return;
    }
    // The index breaks ties, so the unstable sort of the pairs orders equal keys as they came.
    let mut order: Vec<(u128, u32)> = items.iter().enumerate().map(|(i, item)| (key(item), i as u32)).collect();
    order.sort_unstable();
    let mut from: Vec<u32> = order.into_iter().map(|(_, i)| i).collect();
    permute(items, &mut from);
}

/// Rearranges `items` so that position `i` holds what was at `from[i]` (a permutation of the
/// indexes), in place: each cycle of the permutation is walked once with swaps.
fn permute<T>(items: &mut [T], from: &mut [u32]) {
    for start in 0..items.len() {
        let mut at = start;
        loop {
            let source = from[at] as usize;
            from[at] = at as u32;
            // Back at the start: the cycle is closed (at once for a fixed or visited index).
            if source == start {
                break;
            }
            items.swap(at, source);
            at = source;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by_key;

    #[test]
    fn sorts_stably_like_the_standard_library() {
        // A fixed pseudo-random sequence with many equal keys.
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for len in [0usize, 1, 2, 3, 10, 100, 1000] {
            let items: Vec<(u32, u32)> = (0..len as u32).map(|i| (next() % 17, i)).collect();
            let mut ours = items.clone();
            sort_by_key(&mut ours, |&(k, _)| u128::from(k));
            let mut theirs = items.clone();
            theirs.sort_by_key(|&(k, _)| k);
            assert_eq!(ours, theirs, "length {len}");
        }
    }
}
