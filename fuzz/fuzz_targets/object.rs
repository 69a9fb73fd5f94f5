//! Fuzzes the BPF object reader: any bytes give an `Object` or an `ObjError`, never a panic or a
//! hang; on a successful parse, the kernel-bound BTF rewrite, linking each program (which the
//! loader does at load) and the loader's map binding must not panic either. Seed it with
//! `bpf/*.bpf.o` (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match bpfkit_obj::Object::parse("fuzz", data) {
        Ok(obj) => {
            let _ = obj.btf_for_kernel();
            for index in 0..obj.programs.len() {
                let _ = obj.program_relocs(index);
                let Ok(prog) = obj.link(index) else { continue };
                assert!(prog.relocs.iter().all(|r| r.insn < prog.insns.len()));
                // What the loader does next: bind map fds into the relocated instructions.
                let _ = prog.bind_maps(|map| (map % 2 == 0).then_some(map as i32 + 3));
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
