//! One eBPF instruction, as the kernel takes it in `BPF_PROG_LOAD`: 8 bytes of opcode,
//! register nibbles, a 16-bit offset and a 32-bit immediate. `ld_imm64` (load a 64-bit
//! constant, a map or a function) is the only instruction that spans two slots; the second
//! slot carries the upper 32 bits in its immediate.

use crate::Endian;

/// An eBPF instruction in host form (numbers in native order), 8 bytes as the kernel's
/// `struct bpf_insn`: the registers share a byte (destination in the low nibble, source in the
/// high one), so a program of 100k instructions takes 800 KB and not the 1.2 MB a byte per
/// register would (padded to 12), and every linked copy of a subprogram shrinks alike.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Insn {
    /// The opcode: class, size/source and operation bits.
    pub code: u8,
    /// Destination register (low nibble) and source register or pseudo tag (high nibble).
    regs: u8,
    /// Signed offset (jumps, memory accesses).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl std::fmt::Debug for Insn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Insn")
            .field("code", &self.code)
            .field("dst", &self.dst())
            .field("src", &self.src())
            .field("off", &self.off)
            .field("imm", &self.imm)
            .finish()
    }
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
    /// An instruction from its fields; registers (and the pseudo tag) are 4 bits, higher bits
    /// are dropped.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn { code, regs: (dst & 0xf) | (src << 4), off, imm }
    }

    /// Destination register (0..=10).
    pub const fn dst(&self) -> u8 {
        self.regs & 0xf
    }

    /// Source register, or for `ld_imm64` and calls the "pseudo" tag saying what `imm` means.
    pub const fn src(&self) -> u8 {
        self.regs >> 4
    }

    /// Sets the destination register (4 bits).
    pub fn set_dst(&mut self, dst: u8) {
        self.regs = (self.regs & 0xf0) | (dst & 0xf);
    }

    /// Sets the source register or pseudo tag (4 bits).
    pub fn set_src(&mut self, src: u8) {
        self.regs = (self.regs & 0x0f) | (src << 4);
    }

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
        Insn::new(bytes[0], dst, src, off, imm)
    }

    /// The 8 bytes of a little-endian `struct bpf_insn` (destination register in the low
    /// nibble), which is also this type's own memory layout.
    pub fn to_le_bytes(self) -> [u8; 8] {
        let [o0, o1] = self.off.to_le_bytes();
        let [i0, i1, i2, i3] = self.imm.to_le_bytes();
        [self.code, self.regs, o0, o1, i0, i1, i2, i3]
    }

    /// The 8 bytes of a big-endian `struct bpf_insn`: numbers most significant byte first, and
    /// the register bitfields allocated from the top, so the destination is the high nibble.
    pub fn to_be_bytes(self) -> [u8; 8] {
        let [o0, o1] = self.off.to_be_bytes();
        let [i0, i1, i2, i3] = self.imm.to_be_bytes();
        [self.code, (self.dst() << 4) | self.src(), o0, o1, i0, i1, i2, i3]
    }

    /// Whether this is the first slot of a 64-bit immediate load.
    pub fn is_ld_imm64(&self) -> bool {
        self.code == LD_IMM64
    }

    /// Whether this is a bpf-to-bpf call (`call` with the pseudo-call tag).
    pub fn is_pseudo_call(&self) -> bool {
        self.code == CALL && self.src() == PSEUDO_CALL
    }

    /// Whether this is a `ld_imm64` of a function address (a callback).
    pub fn is_pseudo_func(&self) -> bool {
        self.code == LD_IMM64 && self.src() == PSEUDO_FUNC
    }

    /// Whether this is a helper call (`call` with no tag: `imm` is a helper id).
    pub fn is_helper_call(&self) -> bool {
        self.code == CALL && self.src() == 0
    }
}

/// Decodes `bytes` (a multiple of 8 long) into instructions. Little-endian objects are in
/// [`Insn`]'s own layout already (the register byte included), so each is a field-wise copy
/// the compiler turns into a plain copy loop.
pub(crate) fn decode_all(bytes: &[u8], endian: Endian) -> Vec<Insn> {
    let chunks = bytes.chunks_exact(INSN_SIZE);
    match endian {
        Endian::Little => chunks
            .map(|c| Insn {
                code: c[0],
                regs: c[1],
                off: i16::from_le_bytes([c[2], c[3]]),
                imm: i32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
        Endian::Big => chunks
            .map(|c| {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(c);
                Insn::decode(raw, endian)
            })
            .collect(),
    }
}

/// Encodes instructions as the bytes of `struct bpf_insn` in byte order `endian` (to write an
/// object file, or for a kernel of the other byte order than [`Insn`]'s layout, which is the
/// little-endian kernel's: a loader on a little-endian host passes the instructions as they are).
pub fn encode_all(insns: &[Insn], endian: Endian) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * INSN_SIZE);
    for insn in insns {
        out.extend_from_slice(&match endian {
            Endian::Little => insn.to_le_bytes(),
            Endian::Big => insn.to_be_bytes(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_round_trip() {
        // r1 = 0x1234 (ld_imm64 first slot), little-endian, src 1 (map fd)
        let le = [0x18, 0x11, 0xfe, 0xff, 0x34, 0x12, 0, 0];
        let insn = Insn::decode(le, Endian::Little);
        assert_eq!(insn, Insn::new(LD_IMM64, 1, 1, -2, 0x1234));
        assert_eq!(std::mem::size_of::<Insn>(), INSN_SIZE);
        assert_eq!(insn.to_le_bytes(), le);
        let be = [0x18, 0x11, 0xff, 0xfe, 0, 0, 0x12, 0x34];
        assert_eq!(Insn::decode(be, Endian::Big), insn);
        let be_regs = Insn::decode([0xbf, 0x21, 0, 0, 0, 0, 0, 0], Endian::Big);
        assert_eq!((be_regs.dst(), be_regs.src()), (2, 1));
        assert_eq!(insn.to_be_bytes(), be);
        assert_eq!(encode_all(&[insn, be_regs], Endian::Big)[8..], [0xbf, 0x21, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_all(&[insn], Endian::Little), le);
    }

    #[test]
    fn decode_all_agrees_with_decode() {
        let bytes: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37) ^ 0x5a).collect();
        for endian in [Endian::Little, Endian::Big] {
            let one_by_one: Vec<Insn> =
                bytes.chunks_exact(8).map(|c| Insn::decode(c.try_into().unwrap_or_default(), endian)).collect();
            assert_eq!(decode_all(&bytes, endian), one_by_one, "{endian:?}");
        }
    }
}
