//! The kernel's kfuncs: FUNCs that carry the `bpf_kfunc` declaration tag (how pahole marks the
//! functions registered for BPF since 1.25), in vmlinux and in every loaded module, with their
//! C prototypes, for tools that show what a kernel offers (`bpfkit kernel`).

use bpfkit_btf::{Btf, Kind, TypeDetails, TypeId};

use crate::error::Result;
use crate::kernel_btf::KernelBtf;

/// A kernel function callable from BPF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kfunc {
    /// Its name.
    pub name: String,
    /// The module defining it, `None` for vmlinux.
    pub module: Option<String>,
    /// Its FUNC id (in the module's id space for module kfuncs).
    pub id: TypeId,
    /// Its C prototype (`struct task_struct *bpf_task_acquire(struct task_struct *p)`).
    pub prototype: String,
}

/// The kfuncs of `btf`'s own types.
fn own_kfuncs(btf: &Btf, module: Option<&str>) -> Vec<Kfunc> {
    let first = btf.first_id();
    let mut out = Vec::new();
    for tag in btf.types().filter(|t| t.id() >= first && t.kind() == Kind::DeclTag) {
        if tag.name().ok() != Some("bpf_kfunc") {
            continue;
        }
        let TypeDetails::DeclTag { ty, component_idx: -1 } = tag.details() else { continue };
        let Ok(func) = btf.type_by_id(ty) else { continue };
        let (Ok(name), TypeDetails::Func { proto, .. }) = (func.name(), func.details()) else { continue };
        out.push(Kfunc {
            name: name.to_owned(),
            module: module.map(str::to_owned),
            id: ty,
            prototype: prototype(btf, name, proto),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

impl KernelBtf {
    /// Every kfunc of vmlinux and of the loaded modules, vmlinux first, each by name.
    pub fn kfuncs(&self) -> Result<Vec<Kfunc>> {
        let mut out = own_kfuncs(self.vmlinux(), None);
        for m in self.modules()? {
            out.extend(own_kfuncs(&m.btf, Some(&m.name)));
        }
        Ok(out)
    }
}

/// `RET NAME(PARAMS)` in C.
pub fn prototype(btf: &Btf, name: &str, proto: TypeId) -> String {
    let Ok(TypeDetails::FuncProto { ret, params }) = btf.type_by_id(proto).map(|t| t.details()) else {
        return format!("{name}(?)");
    };
    let params: Vec<String> = params
        .map(|p| {
            let pname = btf.str_at(p.name_off).unwrap_or("");
            if p.ty == 0 { "...".to_owned() } else { declaration(btf, p.ty, pname) }
        })
        .collect();
    let params = if params.is_empty() { "void".to_owned() } else { params.join(", ") };
    declaration(btf, ret, &format!("{name}({params})"))
}

/// A C declaration of `name` with type `id` (`const char *name`, `int name[4]`).
pub fn declaration(btf: &Btf, id: TypeId, name: &str) -> String {
    declare(btf, id, name.to_owned(), 0)
}

fn declare(btf: &Btf, id: TypeId, inner: String, depth: u32) -> String {
    let join = |base: &str, inner: &str| if inner.is_empty() { base.to_owned() } else { format!("{base} {inner}") };
    if id == 0 {
        return join("void", &inner);
    }
    if depth > 16 {
        return join("/* too deep */ void", &inner);
    }
    let Ok(t) = btf.type_by_id(id) else { return join("/* bad type */ void", &inner) };
    let name = t.name().unwrap_or("");
    let named = |kw: &str| if name.is_empty() { format!("{kw} /* anon */") } else { format!("{kw} {name}") };
    match t.details() {
        TypeDetails::Int(_) | TypeDetails::Float | TypeDetails::Typedef(_) => join(name, &inner),
        TypeDetails::Struct(_) => join(&named("struct"), &inner),
        TypeDetails::Union(_) => join(&named("union"), &inner),
        TypeDetails::Enum(_) | TypeDetails::Enum64(_) => join(&named("enum"), &inner),
        TypeDetails::Fwd { is_union } => join(&named(if is_union { "union" } else { "struct" }), &inner),
        TypeDetails::Ptr(to) => {
            let points_to_func = matches!(btf.type_by_id(to).map(|t| t.kind()), Ok(Kind::FuncProto));
            let inner = if points_to_func { format!("(*{inner})") } else { format!("*{inner}") };
            declare(btf, to, inner, depth + 1)
        }
        TypeDetails::Const(to) => modifier(btf, "const", to, inner, depth),
        TypeDetails::Volatile(to) => modifier(btf, "volatile", to, inner, depth),
        TypeDetails::Restrict(to) => modifier(btf, "restrict", to, inner, depth),
        TypeDetails::TypeTag(to) => declare(btf, to, inner, depth + 1),
        TypeDetails::Array(a) => declare(btf, a.elem_type, format!("{inner}[{}]", a.nelems), depth + 1),
        TypeDetails::FuncProto { ret, params } => {
            let ps: Vec<String> = params
                .map(|p| if p.ty == 0 { "...".into() } else { declare(btf, p.ty, String::new(), depth + 1) })
                .collect();
            let ps = if ps.is_empty() { "void".to_owned() } else { ps.join(", ") };
            declare(btf, ret, format!("{inner}({ps})"), depth + 1)
        }
        _ => join(name, &inner),
    }
}

/// `const T` reads better on the left of a named base type, on the right of a pointer.
fn modifier(btf: &Btf, kw: &str, to: TypeId, inner: String, depth: u32) -> String {
    let base_is_ptr = matches!(btf.resolve(to).ok().and_then(|id| btf.kind_of(id)), Some(Kind::Ptr))
        && matches!(btf.kind_of(to), Some(Kind::Ptr));
    if base_is_ptr {
        declare(btf, to, format!("{kw} {inner}").trim_end().to_owned(), depth + 1)
    } else {
        format!("{kw} {}", declare(btf, to, inner, depth + 1))
    }
}
