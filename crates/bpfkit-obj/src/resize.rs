//! Resizing a global data section before load, as libbpf's `bpf_map__set_value_size` does for
//! global data: the scx schedulers size per-CPU arrays to the machine (`RESIZABLE_ARRAY`,
//! `RESIZE_ARRAY`) and the exit dump buffer to the kernel's dump length (`.data.uei_dump`), each
//! the last (or only) variable of its own section.

use crate::error::{ObjError, Result};
use crate::map::{DataKind, MapKind};
use crate::object::Object;

impl Object {
    /// Makes global data map `map` (`.data.NAME`, `.bss.NAME`, `.rodata.NAME`, ...) `size` bytes,
    /// keeping what was written into it so far (cut, or padded with zeros). With BTF, the
    /// section's last variable must be an array and absorbs the change: its element count
    /// follows, and the kernel's copy of the BTF gets the new array type. Without BTF only the
    /// map's value size changes.
    pub fn resize_data(&mut self, map: &str, size: u32) -> Result<()> {
        let index = self
            .maps
            .iter()
            .position(|m| m.name == map)
            .ok_or_else(|| ObjError::NotFound { what: "map", name: map.to_owned() })?;
        let m = &self.maps[index];
        if !matches!(m.kind, MapKind::Data(DataKind::Data | DataKind::Bss | DataKind::Rodata)) {
            return Err(ObjError::map(
                map,
                "only global data sections can be resized (set other maps' sizes in `def`)",
            ));
        }
        if size == 0 {
            return Err(ObjError::map(map, "a global data section cannot be 0 bytes"));
        }
        if let (Some(btf), Some(datasec)) = (self.btf.clone(), m.def.btf_value_type) {
            let (offset, var_size) = self.btf_fixes.resize_last_var(&btf, datasec, size)?;
            if let Some(g) = self.globals.iter_mut().find(|g| g.map == index && g.offset == offset) {
                g.size = var_size;
            }
        }
        let m = &mut self.maps[index];
        m.def.value_size = size;
        m.data.resize(size as usize, 0);
        Ok(())
    }
}
