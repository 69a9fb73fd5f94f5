//! Relocates a kernel module's BTF from its distilled base (`.BTF.base`) onto a vmlinux, or
//! distills it first when it has none, and says what was mapped.
//!
//! ```sh
//! cargo run -p bpfkit-btf --example relocate_module -- MODULE.ko [VMLINUX] [BUILT_ON_VMLINUX]
//! ```
//! VMLINUX defaults to `/sys/kernel/btf/vmlinux`. A module without a distilled base needs the
//! vmlinux it was built against as BUILT_ON_VMLINUX: it is distilled against that one first.

use std::sync::Arc;

use bpfkit_btf::{Btf, ModuleFile, distill, relocate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let module = args.next().ok_or("usage: relocate_module MODULE.ko [VMLINUX] [BUILT_ON_VMLINUX]")?;
    let target = args.next().unwrap_or_else(|| "/sys/kernel/btf/vmlinux".into());
    let file = ModuleFile::open(&module)?;
    let vmlinux = Arc::new(Btf::open(&target, None)?);
    let on_distilled = if file.has_distilled_base() {
        file.btf_on(None)?
    } else {
        let built_on = args.next().ok_or("the module has no .BTF.base: give the vmlinux it was built against")?;
        let split = file.btf_on(Some(Arc::new(Btf::open(built_on, None)?)))?;
        distill(&split)?.split
    };
    let relocated = relocate(&on_distilled, vmlinux)?;
    let btf = relocated.btf();
    println!(
        "{module}: {} distilled types mapped onto {target}; {} types at ids {}..",
        relocated.distilled_count(),
        btf.own_type_count(),
        btf.first_id()
    );
    Ok(())
}
