//! The object BTF's DATASECs, by section name, read in one pass over the types.
//!
//! The parser needs the DATASEC of nearly every data section (map definitions, global data,
//! struct_ops variables, externs). A name lookup per section would make the object's small,
//! unsorted BTF build a name index first, which costs more than this walk.

use bpfkit_btf::{Btf, Kind, TypeId};

use crate::error::{ObjError, Result};

/// DATASEC type ids by name, in id order.
#[derive(Debug, Default)]
pub(crate) struct Datasecs<'b>(Vec<(&'b str, TypeId)>);

impl<'b> Datasecs<'b> {
    /// Every DATASEC of `btf` (an object's own BTF: no base).
    pub fn of(btf: &'b Btf) -> Result<Datasecs<'b>> {
        let mut out = Vec::with_capacity(8);
        for id in btf.own_ids_of_kind(Kind::Datasec) {
            let name = btf.type_by_id(id).and_then(|t| t.name());
            out.push((name.map_err(|e| ObjError::Invalid(format!("BTF DATASEC [{id}]: {e}")))?, id));
        }
        Ok(Datasecs(out))
    }

    /// The DATASEC named `name` (the first, if the BTF repeats one).
    pub fn get(&self, name: &str) -> Option<TypeId> {
        self.0.iter().find(|(n, _)| *n == name).map(|&(_, id)| id)
    }

    /// Every (name, id), in id order.
    pub fn iter(&self) -> impl Iterator<Item = &(&'b str, TypeId)> {
        self.0.iter()
    }

    /// Whether there is a DATASEC named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}
