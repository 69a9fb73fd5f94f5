//! Fuzzes the `.BTF.ext` reader (func_info, line_info, CO-RE relocation records): the input is
//! a little-endian `u32` length `n`, `n` bytes of BTF (the object's `.BTF`), then the `.BTF.ext`
//! section. Any bytes give a `BtfExt` or an `ObjError`, never a panic or a hang, and looking up
//! the type ids and strings a successful parse's records name must not panic either. Seeds: the
//! fixtures' sections (fuzz/seeds/btf_ext, made by fuzz/make-seeds.sh).
#![no_main]

use bpfkit_btf::Btf;
use bpfkit_obj::BtfExt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else { return };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (btf, ext) = rest.split_at(len);
    let Ok(btf) = Btf::parse(btf.to_vec()) else { return };
    match BtfExt::parse(ext, &btf) {
        Ok(parsed) => {
            for (_, section) in &parsed.sections {
                for f in &section.func_info {
                    let _ = btf.type_by_id(f.type_id);
                }
                for r in &section.core_relos {
                    let _ = btf.str_at(r.access_str_off);
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
