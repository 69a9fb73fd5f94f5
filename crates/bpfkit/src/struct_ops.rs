//! struct_ops: BPF programs implementing a kernel interface (`tcp_congestion_ops`,
//! `sched_ext_ops`, a module's own ops type). Each struct_ops variable of the object is a
//! `BPF_MAP_TYPE_STRUCT_OPS` map whose one value is the kernel's wrapper struct
//! (`bpf_struct_ops_<name>`, found in vmlinux, then in module BTF) holding the ops struct.
//!
//! Kernel facts (see `shared/docs/kernel-abi-notes.md`): members match the kernel's ops struct
//! by name; a member the kernel lacks is accepted only if it is zero in the object; function
//! pointer members take program fds (as u64), and each such program is loaded with
//! `attach_btf_id` = the kernel *ops* struct and `expected_attach_type` = the member's index;
//! other members are copied by value and must have the kernel's size. A module-defined type
//! also needs the module's BTF fd (`value_type_btf_obj_fd`, flag `BPF_F_VTYPE_BTF_OBJ_FD`).
//! `.struct_ops.link` maps (`BPF_F_LINK`) register through a BPF link and can be swapped live
//! with `BPF_LINK_UPDATE`; plain `.struct_ops` maps register when element 0 is written and
//! unregister when it is deleted.

use std::os::fd::RawFd;
use std::sync::Arc;

use bpfkit_btf::{Btf, Kind, TypeDetails, TypeId};
use bpfkit_obj::{Map as ObjMap, MapKind};

use crate::error::{Error, Result};
use crate::kernel_btf::{KernelBtf, ModuleBtf};

/// The kernel's side of one struct_ops type.
#[derive(Debug, Clone)]
pub(crate) struct KernelOps {
    /// `bpf_struct_ops_<name>`: the map's value type.
    pub wrapper_id: TypeId,
    pub wrapper_size: u32,
    /// Byte offset of the ops struct inside the wrapper.
    pub data_offset: u32,
    /// The ops struct (`tcp_congestion_ops`): what struct_ops programs attach to.
    pub ops_id: TypeId,
    /// The module defining it (`None`: vmlinux).
    pub module: Option<Arc<ModuleBtf>>,
}

impl KernelOps {
    fn btf<'a>(&'a self, kernel: &'a KernelBtf) -> &'a Btf {
        self.module.as_ref().map_or(kernel.vmlinux(), |m| &m.btf)
    }
}

/// Where a struct_ops program attaches: the ops struct and the member's index.
#[derive(Debug, Clone)]
pub(crate) struct OpsTarget {
    pub ops_id: TypeId,
    pub member_index: u32,
    pub module: Option<Arc<ModuleBtf>>,
}

fn err(map: &str, why: impl Into<String>) -> Error {
    Error::MapCreate {
        map: map.to_owned(),
        source: std::io::Error::from_raw_os_error(libc::EINVAL),
        hint: format!(" ({})", why.into()),
    }
}

/// Every struct_ops type the kernel offers (wrapper names without `bpf_struct_ops_`).
pub(crate) fn available(kernel: &KernelBtf) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut scan = |btf: &Btf| {
        for t in btf.types().filter(|t| t.id() >= btf.first_id() && t.kind() == Kind::Struct) {
            let Some(n) = t.name().ok().and_then(|n| n.strip_prefix("bpf_struct_ops_")) else { continue };
            // A wrapper holds the ops struct as its `data` member; the kernel's own
            // bookkeeping structs (`bpf_struct_ops_map`, `_desc`, `_link`, ...) do not.
            let wraps = t.members().any(|m| {
                btf.str_at(m.name_off).is_ok_and(|name| name == "data")
                    && btf
                        .resolve(m.ty)
                        .and_then(|id| btf.type_by_id(id))
                        .is_ok_and(|d| d.kind() == Kind::Struct && d.name().is_ok_and(|dn| dn == n))
            });
            if wraps {
                names.push(n.to_owned());
            }
        }
    };
    scan(kernel.vmlinux());
    for m in kernel.modules().unwrap_or_default() {
        scan(&m.btf);
    }
    names.sort();
    names.dedup();
    names
}

/// Finds the kernel's wrapper for ops type `type_name` (vmlinux first, then modules).
pub(crate) fn find(kernel: &KernelBtf, map: &str, type_name: &str) -> Result<KernelOps> {
    let wrapper = format!("bpf_struct_ops_{type_name}");
    let from = |btf: &Btf, module: Option<Arc<ModuleBtf>>| -> Result<Option<KernelOps>> {
        let Some(wrapper_id) = btf.find_by_name_kind(&wrapper, Kind::Struct) else { return Ok(None) };
        if module.is_some() && wrapper_id < btf.first_id() {
            return Ok(None);
        }
        let w = btf.type_by_id(wrapper_id)?;
        for m in w.members() {
            let ty = btf.resolve(m.ty)?;
            let t = btf.type_by_id(ty)?;
            if t.kind() == Kind::Struct && t.name()? == type_name {
                return Ok(Some(KernelOps {
                    wrapper_id,
                    wrapper_size: w.size().unwrap_or(0),
                    data_offset: m.bit_offset() / 8,
                    ops_id: ty,
                    module,
                }));
            }
        }
        Err(err(map, format!("{wrapper} has no member of type struct {type_name}")))
    };
    if let Some(k) = from(kernel.vmlinux(), None)? {
        return Ok(k);
    }
    for m in kernel.modules()? {
        if let Some(k) = from(&m.btf, Some(m.clone()))? {
            kernel.mark_used(&m.name);
            return Ok(k);
        }
    }
    let known = available(kernel);
    Err(err(map, format!("the kernel has no struct_ops type {type_name}; it has: {}", known.join(", "))))
}

/// The kernel ops struct's members: (name, (index, byte offset, type id, size)), in order.
fn kernel_members(btf: &Btf, ops_id: TypeId) -> Result<KernelMembers<'_>> {
    let t = btf.type_by_id(ops_id)?;
    let mut out = Vec::with_capacity(t.vlen() as usize);
    for (i, m) in t.members().enumerate() {
        let name = btf.str_at(m.name_off)?;
        let size = btf.size_of(m.ty).unwrap_or(0);
        out.push((name, (i as u32, m.bit_offset() / 8, m.ty, size)));
    }
    Ok(KernelMembers(out))
}

/// A member of a kernel ops struct: (index, byte offset, type id, size).
type KernelMember = (u32, u32, TypeId, u64);

/// An ops struct's members, searched by name (an ops struct has tens of members).
struct KernelMembers<'b>(Vec<(&'b str, KernelMember)>);

impl KernelMembers<'_> {
    fn get(&self, name: &str) -> Option<&KernelMember> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, m)| m)
    }
}

fn is_func_ptr(btf: &Btf, ty: TypeId) -> bool {
    let Ok(id) = btf.resolve(ty) else { return false };
    match btf.type_by_id(id).map(|t| t.details()) {
        Ok(TypeDetails::Ptr(to)) => btf.resolve(to).ok().and_then(|t| btf.kind_of(t)) == Some(Kind::FuncProto),
        _ => false,
    }
}

/// Where each program bound to `map`'s members attaches.
pub(crate) fn targets(kernel: &KernelBtf, ops: &KernelOps, map: &ObjMap) -> Result<Vec<(String, OpsTarget)>> {
    let MapKind::StructOps { funcs, .. } = &map.kind else { return Ok(Vec::new()) };
    let members = kernel_members(ops.btf(kernel), ops.ops_id)?;
    let mut out = Vec::new();
    for f in funcs {
        let Some(&(index, _, ty, _)) = members.get(&f.member) else {
            return Err(err(
                &map.name,
                format!("member {} (set to program {}) does not exist in the kernel's ops", f.member, f.program),
            ));
        };
        if !is_func_ptr(ops.btf(kernel), ty) {
            return Err(err(&map.name, format!("member {} is not a function pointer in the kernel", f.member)));
        }
        out.push((
            f.program.clone(),
            OpsTarget { ops_id: ops.ops_id, member_index: index, module: ops.module.clone() },
        ));
    }
    Ok(out)
}

/// The map's value: the kernel wrapper with the object's members copied into its ops struct
/// by name and program fds in the function pointer members.
pub(crate) fn value(
    kernel: &KernelBtf,
    local: &Btf,
    ops: &KernelOps,
    map: &ObjMap,
    prog_fd: &dyn Fn(&str) -> Option<RawFd>,
) -> Result<Vec<u8>> {
    let MapKind::StructOps { funcs, .. } = &map.kind else { return Err(err(&map.name, "not a struct_ops map")) };
    let kbtf = ops.btf(kernel);
    let members = kernel_members(kbtf, ops.ops_id)?;
    let local_ty = map.def.btf_value_type.ok_or_else(|| err(&map.name, "no BTF type"))?;
    let lt = local.type_by_id(local_ty)?;
    let mut value = vec![0u8; ops.wrapper_size as usize];
    for m in lt.members() {
        let name = local.str_at(m.name_off)?;
        let off = (m.bit_offset() / 8) as usize;
        let size = local.size_of(m.ty)? as usize;
        let bytes = off
            .checked_add(size)
            .and_then(|end| map.data.get(off..end))
            .ok_or_else(|| err(&map.name, format!("member {name} outside the data")))?;
        let func = funcs.iter().find(|f| f.member == name);
        let Some(&(_, koff, kty, ksize)) = members.get(name) else {
            if func.is_some() || bytes.iter().any(|&b| b != 0) {
                return Err(err(
                    &map.name,
                    format!("member {name} is set but the kernel's {} has no such member", lt.name()?),
                ));
            }
            continue;
        };
        let at = ops.data_offset as usize + koff as usize;
        if is_func_ptr(kbtf, kty) {
            let fd = match func {
                Some(f) => prog_fd(&f.program)
                    .ok_or_else(|| err(&map.name, format!("program {} for {name} was not loaded", f.program)))?,
                None => 0,
            };
            let slot = value.get_mut(at..at + 8).ok_or_else(|| err(&map.name, "kernel member outside the value"))?;
            slot.copy_from_slice(&u64::from(fd as u32).to_ne_bytes());
            continue;
        }
        if ksize as usize != size {
            return Err(err(&map.name, format!("member {name} is {size} bytes here and {ksize} in the kernel")));
        }
        let slot = at
            .checked_add(size)
            .and_then(|end| value.get_mut(at..end))
            .ok_or_else(|| err(&map.name, "kernel member outside the value"))?;
        slot.copy_from_slice(bytes);
    }
    Ok(value)
}
