//! Where in the ELF file each map of the object is defined, for relocations to name them: a
//! variable at some offset of `.maps`, `maps` or a struct_ops section, or a whole global data
//! section.

/// Map indexes by (section index, byte offset), kept in key order: maps are found in section
/// order, so inserts append and lookups are binary searches (a small sorted list instead of a
/// tree: less code, and an object has tens of maps).
#[derive(Debug, Default)]
pub(crate) struct MapPlaces(Vec<(u128, usize)>);

impl MapPlaces {
    fn key(section: usize, offset: u64) -> u128 {
        (section as u128) << 64 | u128::from(offset)
    }

    /// Records that map `map` is defined at `offset` of section `section` (replacing what was).
    pub fn insert(&mut self, section: usize, offset: u64, map: usize) {
        let key = Self::key(section, offset);
        match self.0.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(at) => self.0[at].1 = map,
            Err(at) => self.0.insert(at, (key, map)),
        }
    }

    /// The map defined at `offset` of section `section`.
    pub fn get(&self, section: usize, offset: u64) -> Option<usize> {
        let key = Self::key(section, offset);
        self.0.binary_search_by_key(&key, |&(k, _)| k).ok().map(|at| self.0[at].1)
    }

    /// The maps of section `section`: (offset, map), by offset.
    pub fn in_section(&self, section: usize) -> impl Iterator<Item = (u64, usize)> + '_ {
        let start = self.0.partition_point(|&(k, _)| k < Self::key(section, 0));
        self.0[start..].iter().take_while(move |&&(k, _)| k >> 64 == section as u128).map(|&(k, m)| (k as u64, m))
    }
}

#[cfg(test)]
mod tests {
    use super::MapPlaces;

    #[test]
    fn places_are_found_by_section_and_offset() {
        let mut places = MapPlaces::default();
        places.insert(5, 32, 1);
        places.insert(5, 0, 0);
        places.insert(7, 0, 2);
        places.insert(5, 32, 3);
        assert_eq!(
            (places.get(5, 32), places.get(5, 0), places.get(7, 0), places.get(5, 8)),
            (Some(3), Some(0), Some(2), None)
        );
        assert_eq!(places.in_section(5).collect::<Vec<_>>(), [(0, 0), (32, 3)]);
        assert_eq!(places.in_section(6).count(), 0);
        assert_eq!(places.in_section(7).collect::<Vec<_>>(), [(0, 2)]);
    }
}
