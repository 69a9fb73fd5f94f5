//! Candidate types in kernel BTF for a local root type: same kind (ENUM and ENUM64 count as
//! one), same essential name. vmlinux is searched first; module BTF only when vmlinux has no
//! candidate at all, each module's own types only (their ids live in the module's id space).
//! Results are cached per local type, so a program with many relocations on `task_struct`
//! searches once.

use std::collections::HashMap;
use std::sync::Arc;

use bpfkit_btf::{Btf, Kind, TypeId};

use super::compat::kinds_compatible;
use super::names::essential_name;

/// Kernel BTF to relocate against.
pub trait CoreTarget {
    /// vmlinux BTF (or a user-supplied BTF standing in for it).
    fn vmlinux(&self) -> &Btf;
    /// Module BTFs (split on [`CoreTarget::vmlinux`]), asked for only when vmlinux has no
    /// candidate for some type. An error aborts the relocation.
    fn modules(&self) -> Result<Vec<ModuleTarget>, String>;
}

/// A BTF blob on its own as the target (a vmlinux BTF file, as with libbpf's
/// `btf_custom_path`): no module BTF to search.
impl CoreTarget for Btf {
    fn vmlinux(&self) -> &Btf {
        self
    }

    fn modules(&self) -> Result<Vec<ModuleTarget>, String> {
        Ok(Vec::new())
    }
}

/// A module's BTF as a relocation target.
#[derive(Debug, Clone)]
pub struct ModuleTarget {
    /// The module's name.
    pub name: String,
    /// Its split BTF.
    pub btf: Arc<Btf>,
}

/// Where a candidate was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// vmlinux.
    Vmlinux,
    /// A module, by name.
    Module(String),
}

/// One candidate: a type id in vmlinux or in one module.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub origin: Origin,
    /// `None` for vmlinux (borrowed from the target), the module's BTF otherwise.
    pub module: Option<Arc<Btf>>,
    pub id: TypeId,
}

/// Candidate lists by local type id, and the module list once fetched.
#[derive(Default)]
pub struct CandidateCache {
    by_local: HashMap<TypeId, Vec<Candidate>>,
    modules: Option<Vec<ModuleTarget>>,
    modules_searched: bool,
}

impl CandidateCache {
    /// A new, empty cache (one per object and target).
    pub fn new() -> CandidateCache {
        CandidateCache::default()
    }

    /// Whether any relocation needed module BTF (vmlinux had no candidate for something).
    pub fn searched_modules(&self) -> bool {
        self.modules_searched
    }
}

/// Own types of `btf` with `local`'s kind and essential name.
fn search(btf: &Btf, essential: &str, kind: Kind, own_only: bool) -> Vec<TypeId> {
    let mut found = Vec::new();
    let kinds: &[Kind] = if matches!(kind, Kind::Enum | Kind::Enum64) { &[Kind::Enum, Kind::Enum64] } else { &[kind] };
    for &k in kinds {
        // The exact essential name (the common case), through the name index.
        let exact = if own_only { btf_own_all(btf, essential, k) } else { btf.find_all_by_name_kind(essential, k) };
        found.extend(exact);
    }
    // Flavoured target names (`name___x`) are rare but legal candidates too, as in libbpf:
    // each blob lists its own, found once.
    let blobs = std::iter::successors(Some(btf), |b| if own_only { None } else { b.base().map(|b| &**b) });
    for blob in blobs {
        for &id in blob.flavoured_types() {
            let Ok(ty) = blob.type_by_id(id) else { continue };
            if kinds_compatible(Some(ty.kind()), Some(kind)) && ty.name().is_ok_and(|n| essential_name(n) == essential)
            {
                found.push(id);
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// All own types of a split BTF named `name` of kind `kind`.
fn btf_own_all(btf: &Btf, name: &str, kind: Kind) -> Vec<TypeId> {
    let first = btf.first_id();
    btf.find_all_by_name_kind(name, kind).into_iter().filter(|&id| id >= first).collect()
}

impl CandidateCache {
    /// Candidates for local type `local_id` (named `local_name`, of kind `kind`).
    pub(crate) fn candidates(
        &mut self,
        target: &dyn CoreTarget,
        local_id: TypeId,
        local_name: &str,
        kind: Kind,
    ) -> Result<&[Candidate], String> {
        if !self.by_local.contains_key(&local_id) {
            let essential = essential_name(local_name);
            let mut found: Vec<Candidate> = search(target.vmlinux(), essential, kind, false)
                .into_iter()
                .map(|id| Candidate { origin: Origin::Vmlinux, module: None, id })
                .collect();
            if found.is_empty() {
                self.modules_searched = true;
                if self.modules.is_none() {
                    self.modules = Some(target.modules()?);
                }
                for m in self.modules.iter().flatten() {
                    for id in search(&m.btf, essential, kind, true) {
                        found.push(Candidate {
                            origin: Origin::Module(m.name.clone()),
                            module: Some(m.btf.clone()),
                            id,
                        });
                    }
                }
            }
            self.by_local.insert(local_id, found);
        }
        Ok(self.by_local.get(&local_id).map(Vec::as_slice).unwrap_or(&[]))
    }
}
