//! Fuzzes the BPF object reader: any bytes give an `Object` or an `ObjError`, never a panic or a
//! hang; on a successful parse, the kernel-bound BTF rewrite must not panic either. Seed it with
//! `bpf/*.bpf.o` (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match bpfkit_obj::Object::parse("fuzz", data) {
        Ok(obj) => {
            let _ = obj.btf_for_kernel();
            for prog in &obj.programs {
                assert!(prog.relocs.iter().all(|r| r.insn < prog.insns.len()));
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
