//! Writing a relocation's value into its instruction: the immediate of an ALU instruction, the
//! offset of a load or store (with the access size following the field's size where that is
//! safe), or both halves of an `ld_imm64`. Relocations that cannot be resolved *poison* their
//! instruction instead: it becomes a call of a helper that does not exist, so the verifier
//! rejects the program only if that instruction is reachable (code behind a
//! `bpf_core_field_exists` check that came out false is dead and gets removed).

use crate::insn::{CALL, Insn, LD_IMM64};

/// The helper id poisoned instructions call (libbpf uses the same, so verifier messages read
/// the same: `invalid func unknown#195896080`).
pub const POISON_HELPER: i32 = 0xbad2310;

const CLASS_MASK: u8 = 0x07;
const CLASS_LDX: u8 = 0x01;
const CLASS_ST: u8 = 0x02;
const CLASS_STX: u8 = 0x03;
const CLASS_ALU: u8 = 0x04;
const CLASS_ALU64: u8 = 0x07;
const SRC_X: u8 = 0x08;
const SIZE_MASK: u8 = 0x18;

/// What to write into one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Patch {
    /// Value the compiler assumed (local BTF).
    pub orig: u64,
    /// Value for the target kernel.
    pub new: u64,
    /// Check the instruction holds `orig` before changing it.
    pub validate: bool,
    /// For loads and stores of a field: (local size, target size) when they differ.
    pub resize: Option<(u32, u32)>,
    /// The size change is not safe (only pointers and unsigned integers may change size).
    pub resize_forbidden: bool,
}

fn size_code(bytes: u32) -> Option<u8> {
    Some(match bytes {
        1 => 0x10,
        2 => 0x08,
        4 => 0x00,
        8 => 0x18,
        _ => return None,
    })
}

fn size_bytes(code: u8) -> u32 {
    match code & SIZE_MASK {
        0x10 => 1,
        0x08 => 2,
        0x00 => 4,
        _ => 8,
    }
}

/// Replaces `insns[at]` (and its second slot, for `ld_imm64`) with a poisoned call.
pub(crate) fn poison(insns: &mut [Insn], at: usize) {
    let poisoned = Insn::new(CALL, 0, 0, 0, POISON_HELPER);
    if insns.get(at).is_some_and(Insn::is_ld_imm64) {
        if let Some(second) = insns.get_mut(at + 1) {
            *second = poisoned;
        }
    }
    if let Some(insn) = insns.get_mut(at) {
        *insn = poisoned;
    }
}

/// Applies `patch` to `insns[at]`; the error says why the instruction does not fit.
pub(crate) fn apply(insns: &mut [Insn], at: usize, patch: &Patch) -> Result<(), String> {
    let insn = *insns.get(at).ok_or_else(|| format!("instruction {at} is past the program's end"))?;
    let mismatch = |what: &str, has: i64| {
        format!(
            "{what} is {has}, but the object's own BTF says {}: the relocation does not belong to this instruction",
            patch.orig as i64
        )
    };
    match insn.code & CLASS_MASK {
        CLASS_ALU | CLASS_ALU64 if insn.code != LD_IMM64 => {
            if insn.code & SRC_X != 0 {
                return Err("ALU instruction with a register source has no immediate to relocate".into());
            }
            if patch.validate && i64::from(insn.imm) as u64 != patch.orig && insn.imm as u32 as u64 != patch.orig {
                return Err(mismatch("the immediate", i64::from(insn.imm)));
            }
            let imm = i32::try_from(patch.new as i64)
                .or_else(|_| u32::try_from(patch.new).map(|u| u as i32))
                .map_err(|_| format!("value {} does not fit a 32-bit immediate", patch.new))?;
            insns[at].imm = imm;
        }
        CLASS_LDX | CLASS_ST | CLASS_STX => {
            if patch.validate && i64::from(insn.off) as u64 != patch.orig {
                return Err(mismatch("the offset", i64::from(insn.off)));
            }
            let off = i16::try_from(patch.new).map_err(|_| format!("offset {} does not fit 16 bits", patch.new))?;
            if let Some((local, target)) = patch.resize {
                if patch.resize_forbidden {
                    return Err(format!(
                        "accesses a field of {local} bytes that is {target} bytes in the kernel; only pointers and \
                         unsigned integers may change size (read it with BPF_CORE_READ into a matching type)"
                    ));
                }
                if size_bytes(insn.code) != local {
                    return Err(format!("access of {} bytes to a field of {local} bytes", size_bytes(insn.code)));
                }
                let code = size_code(target).ok_or_else(|| format!("no load or store of {target} bytes exists"))?;
                insns[at].code = (insn.code & !SIZE_MASK) | code;
            }
            insns[at].off = off;
        }
        _ if insn.code == LD_IMM64 => {
            let second = insns.get(at + 1).copied().ok_or("ld_imm64 without its second slot")?;
            if insn.src() != 0 || insn.off != 0 || second.code != 0 {
                return Err("ld_imm64 already relocated to something else".into());
            }
            let current = u64::from(insn.imm as u32) | (u64::from(second.imm as u32) << 32);
            if patch.validate && current != patch.orig {
                return Err(mismatch("the 64-bit immediate", current as i64));
            }
            insns[at].imm = patch.new as u32 as i32;
            insns[at + 1].imm = (patch.new >> 32) as u32 as i32;
        }
        _ => return Err(format!("instruction opcode {:#04x} cannot carry a CO-RE relocation", insn.code)),
    }
    Ok(())
}
