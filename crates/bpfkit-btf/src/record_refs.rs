//! The type-id and string-offset fields of an owned record, visited in place.
//!
//! Moving BTF between bases (relocating a module onto another vmlinux, distilling its base)
//! rewrites exactly two kinds of fields: references to other types and offsets into the string
//! section. Naming every such field of every kind once, here, keeps the rewriting passes free of
//! per-kind matches that could silently miss one.

use crate::TypeId;
use crate::builder::{RecordData, TypeRecord};

impl RecordData {
    /// Calls `f` on every type-id field, in record order (for an ARRAY: element, then index
    /// type). A record of an unknown kind has none that this crate can find: callers that must
    /// see every reference reject [`RecordData::Unknown`] first.
    pub fn try_for_each_type_id<E>(&mut self, mut f: impl FnMut(&mut TypeId) -> Result<(), E>) -> Result<(), E> {
        match self {
            RecordData::Ptr(t)
            | RecordData::Typedef(t)
            | RecordData::Volatile(t)
            | RecordData::Const(t)
            | RecordData::Restrict(t)
            | RecordData::TypeTag(t) => f(t),
            RecordData::Array(a) => {
                f(&mut a.elem_type)?;
                f(&mut a.index_type)
            }
            RecordData::Struct { members, .. } | RecordData::Union { members, .. } => {
                members.iter_mut().try_for_each(|m| f(&mut m.ty))
            }
            RecordData::Func { proto, .. } => f(proto),
            RecordData::FuncProto { ret, params } => {
                f(ret)?;
                params.iter_mut().try_for_each(|p| f(&mut p.ty))
            }
            RecordData::Var { ty, .. } | RecordData::DeclTag { ty, .. } => f(ty),
            RecordData::Datasec { vars, .. } => vars.iter_mut().try_for_each(|v| f(&mut v.ty)),
            RecordData::Int { .. }
            | RecordData::Enum { .. }
            | RecordData::Enum64 { .. }
            | RecordData::Fwd { .. }
            | RecordData::Float { .. }
            | RecordData::Unknown { .. } => Ok(()),
        }
    }

    /// The type ids this record refers to, in record order (0, void, included).
    pub fn type_ids(&self) -> Vec<TypeId> {
        let mut ids = Vec::new();
        let _ = self.clone().try_for_each_type_id(|id| {
            ids.push(*id);
            Ok::<(), ()>(())
        });
        ids
    }
}

impl TypeRecord {
    /// Calls `f` on every string-offset field: the record's name, then member, enumerator
    /// and parameter names. Offsets of 0 (anonymous) are visited too.
    pub fn try_for_each_string<E>(&mut self, mut f: impl FnMut(&mut u32) -> Result<(), E>) -> Result<(), E> {
        f(&mut self.name_off)?;
        match &mut self.data {
            RecordData::Struct { members, .. } | RecordData::Union { members, .. } => {
                members.iter_mut().try_for_each(|m| f(&mut m.name_off))
            }
            RecordData::Enum { values, .. } => values.iter_mut().try_for_each(|v| f(&mut v.name_off)),
            RecordData::Enum64 { values, .. } => values.iter_mut().try_for_each(|v| f(&mut v.name_off)),
            RecordData::FuncProto { params, .. } => params.iter_mut().try_for_each(|p| f(&mut p.name_off)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Btf, BtfBuilder, IntEncoding, MemberSpec};

    #[test]
    fn every_reference_and_name_is_visited() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let arr = b.add_array(int, int, 4);
        let s = b.add_struct("s", 16, &[MemberSpec::new("a", arr, 0)]);
        let proto = b.add_func_proto(int, &[("x", s)]);
        b.add_func("f", proto, 0);
        let btf = Btf::parse(b.encode().unwrap()).unwrap();
        let ids: Vec<Vec<u32>> = btf.types().map(|t| t.to_record().data.type_ids()).collect();
        assert_eq!(ids, vec![vec![], vec![int, int], vec![arr], vec![int, s], vec![proto]]);
        let mut rec = btf.type_by_id(proto).unwrap().to_record();
        let mut names = Vec::new();
        rec.try_for_each_string(|off| {
            names.push(btf.str_at(*off).unwrap().to_owned());
            *off = 0;
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(names, ["", "x"]);
        assert_eq!(rec.try_for_each_string(|off| if *off == 0 { Ok(()) } else { Err(()) }), Ok(()));
    }
}
