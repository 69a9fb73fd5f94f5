//! One eBPF instruction, as the kernel takes it in `BPF_PROG_LOAD`: 8 bytes of opcode,
//! register nibbles, a 16-bit offset and a 32-bit immediate. `ld_imm64` (load a 64-bit
//! constant, a map or a function) is the only instruction that spans two slots; the second
//! slot carries the upper 32 bits in its immediate.

use crate::Endian;

/// An eBPF instruction in host form (registers split out, numbers in native order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Insn {
    /// The opcode: class, size/source and operation bits.
    pub code: u8,
    /// Destination register (0..=10).
    pub dst: u8,
    /// Source register, or for `ld_imm64` and calls the "pseudo" tag saying what `imm` means.
    pub src: u8,
    /// Signed offset (jumps, memory accesses).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

/// `BPF_LD | BPF_IMM | BPF_DW`: the first slot of a 64-bit immediate load.
pub const LD_IMM64: u8 = 0x18;
/// `BPF_JMP | BPF_CALL`: helper, kfunc or bpf-to-bpf call.
pub const CALL: u8 = 0x85;
/// `BPF_JMP | BPF_EXIT`.
pub const EXIT: u8 = 0x95;

/// `ld_imm64` pseudo tag: `imm` is a map fd.
pub const PSEUDO_MAP_FD: u8 = 1;
/// `ld_imm64` pseudo tag: `imm` is a map fd, the second slot's `imm` an offset into its value.
pub const PSEUDO_MAP_VALUE: u8 = 2;
/// `ld_imm64` pseudo tag: `imm` is the BTF id of a kernel variable (typed ksym).
pub const PSEUDO_BTF_ID: u8 = 3;
/// `ld_imm64` pseudo tag: `imm` is an instruction offset (a callback function).
pub const PSEUDO_FUNC: u8 = 4;
/// Call pseudo tag: a bpf-to-bpf call, `imm` relative to the next instruction.
pub const PSEUDO_CALL: u8 = 1;
/// Call pseudo tag: a kfunc call, `imm` a BTF FUNC id (and `off` an fd_array slot).
pub const PSEUDO_KFUNC_CALL: u8 = 2;

/// Size of one instruction slot in bytes.
pub const INSN_SIZE: usize = 8;

impl Insn {
    /// Decodes the instruction in `bytes[..8]` stored in byte order `endian`. In big-endian
    /// objects the destination register is the high nibble of the register byte.
    pub fn decode(bytes: [u8; 8], endian: Endian) -> Insn {
        let regs = bytes[1];
        let (dst, src) = match endian {
            Endian::Little => (regs & 0xf, regs >> 4),
            Endian::Big => (regs >> 4, regs & 0xf),
        };
        let (off, imm) = match endian {
            Endian::Little => {
                (i16::from_le_bytes([bytes[2], bytes[3]]), i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]))
            }
            Endian::Big => {
                (i16::from_be_bytes([bytes[2], bytes[3]]), i32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]))
            }
        };
        Insn { code: bytes[0], dst, src, off, imm }
    }

    /// The 8 bytes the running (little-endian) kernel expects.
    pub fn to_le_bytes(self) -> [u8; 8] {
        let [o0, o1] = self.off.to_le_bytes();
        let [i0, i1, i2, i3] = self.imm.to_le_bytes();
        [self.code, (self.dst & 0xf) | (self.src << 4), o0, o1, i0, i1, i2, i3]
    }

    /// Whether this is the first slot of a 64-bit immediate load.
    pub fn is_ld_imm64(&self) -> bool {
        self.code == LD_IMM64
    }

    /// Whether this is a bpf-to-bpf call (`call` with the pseudo-call tag).
    pub fn is_pseudo_call(&self) -> bool {
        self.code == CALL && self.src == PSEUDO_CALL
    }

    /// Whether this is a `ld_imm64` of a function address (a callback).
    pub fn is_pseudo_func(&self) -> bool {
        self.code == LD_IMM64 && self.src == PSEUDO_FUNC
    }

    /// Whether this is a helper call (`call` with no tag: `imm` is a helper id).
    pub fn is_helper_call(&self) -> bool {
        self.code == CALL && self.src == 0
    }
}

/// Decodes `bytes` (a multiple of 8 long) into instructions.
pub(crate) fn decode_all(bytes: &[u8], endian: Endian) -> Vec<Insn> {
    bytes
        .chunks_exact(INSN_SIZE)
        .map(|c| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(c);
            Insn::decode(raw, endian)
        })
        .collect()
}

/// Encodes instructions as the little-endian bytes `BPF_PROG_LOAD` takes.
pub fn encode_all(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_round_trip() {
        // r1 = 0x1234 (ld_imm64 first slot), little-endian, src 1 (map fd)
        let le = [0x18, 0x11, 0xfe, 0xff, 0x34, 0x12, 0, 0];
        let insn = Insn::decode(le, Endian::Little);
        assert_eq!(insn, Insn { code: LD_IMM64, dst: 1, src: 1, off: -2, imm: 0x1234 });
        assert_eq!(insn.to_le_bytes(), le);
        let be = [0x18, 0x11, 0xff, 0xfe, 0, 0, 0x12, 0x34];
        assert_eq!(Insn::decode(be, Endian::Big), insn);
        let be_regs = Insn::decode([0xbf, 0x21, 0, 0, 0, 0, 0, 0], Endian::Big);
        assert_eq!((be_regs.dst, be_regs.src), (2, 1));
    }
}
