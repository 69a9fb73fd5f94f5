//! [`Btf`]: one parsed BTF blob, standalone (vmlinux) or split on top of a base (modules).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::TypeId;
use crate::bytes::BtfBytes;
use crate::elf;
use crate::endian::Endian;
use crate::error::{BtfError, Result};
use crate::header::Header;
use crate::kind::Kind;
use crate::layout::Layout;
use crate::names::NameLookup;
use crate::record_offsets::RecordOffsets;
use crate::types::Type;
use crate::validate::Walk;

/// A validated BTF blob: the kernel's type information for vmlinux, a module or a BPF object.
///
/// The bytes are never copied: a `Btf` holds a shared handle to them plus one `u32` per type
/// (where its record starts). A module's BTF is *split*: its ids continue after its base's and
/// its names may point into its base's strings, so it is parsed with [`Btf::parse_split`] and
/// keeps the base alive through an [`Arc`]. Lookups by id and name on a split see the base's
/// types too, but each module keeps its own id space: modules are never merged.
///
/// ```
/// use bpfkit_btf::{Btf, BtfBuilder, Kind};
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, bpfkit_btf::IntEncoding::SIGNED);
/// b.add_typedef("pid_t", int);
/// let btf = Btf::parse(b.encode().unwrap()).unwrap();
/// let pid = btf.find_by_name_kind("pid_t", Kind::Typedef).unwrap();
/// assert_eq!(btf.resolve(pid).unwrap(), int);
/// assert_eq!(btf.size_of(pid).unwrap(), 4);
/// ```
pub struct Btf {
    bytes: BtfBytes,
    /// The type and string sections as windows of `bytes` (found once, read on every access).
    type_bytes: BtfBytes,
    string_bytes: BtfBytes,
    header: Header,
    types: Range<usize>,
    strings: Range<usize>,
    layout: Range<usize>,
    base: Option<Arc<Btf>>,
    first_id: TypeId,
    first_str: u32,
    offsets: RecordOffsets,
    /// Raw kind of each own type: lets kind filters scan 1 byte per type instead of records.
    kinds: Box<[u8]>,
    pub(crate) names: NameLookup,
    /// Flavoured names (CO-RE's `name___suffix`), found on first use.
    pub(crate) flavours: crate::flavour::Flavours,
    /// Pointer size, found on first use (see [`Btf::pointer_size`]).
    pub(crate) pointer_size: std::sync::OnceLock<u32>,
}

impl Btf {
    /// Parses and validates a standalone (base) BTF blob such as `/sys/kernel/btf/vmlinux`.
    pub fn parse(bytes: impl Into<BtfBytes>) -> Result<Btf> {
        Self::build(bytes.into(), None)
    }

    /// Parses and validates split BTF (a module's) on top of `base`, which may itself be split.
    pub fn parse_split(bytes: impl Into<BtfBytes>, base: Arc<Btf>) -> Result<Btf> {
        Self::build(bytes.into(), Some(base))
    }

    /// Parses the `.BTF` section of an ELF file (vmlinux, `.ko`, BPF object) without copying it.
    pub fn from_elf(bytes: impl Into<BtfBytes>, base: Option<Arc<Btf>>) -> Result<Btf> {
        let bytes = bytes.into();
        let range = elf::section_range(bytes.as_slice(), elf::BTF_SECTION)?;
        let section = bytes.slice(range).ok_or_else(|| BtfError::Elf(".BTF section out of file bounds".into()))?;
        Self::build(section, base)
    }

    /// Reads a file holding raw BTF or an ELF file with a `.BTF` section, by its magic.
    pub fn open(path: impl AsRef<Path>, base: Option<Arc<Btf>>) -> Result<Btf> {
        let bytes = BtfBytes::open(path)?;
        if elf::is_elf(bytes.as_slice()) { Self::from_elf(bytes, base) } else { Self::build(bytes, base) }
    }

    fn build(bytes: BtfBytes, base: Option<Arc<Btf>>) -> Result<Btf> {
        let data = bytes.as_slice();
        let header = Header::parse(data)?;
        let (types, strings, layout) = (header.types_range(), header.strings_range(), header.layout_range());
        let (first_id, first_str) = match &base {
            Some(b) => {
                if b.endian() != header.endian {
                    return Err(BtfError::EndiannessMismatch);
                }
                (b.type_count(), b.strings_len())
            }
            None => (1, 0),
        };
        let str_bytes = &data[strings.clone()];
        match str_bytes.last() {
            None if base.is_none() => {
                return Err(BtfError::BadStrings { reason: "a base BTF needs at least the empty string" });
            }
            Some(&last) if last != 0 => {
                return Err(BtfError::BadStrings { reason: "the last string is not NUL-terminated" });
            }
            _ => {}
        }
        if base.is_none() && str_bytes.first() != Some(&0) {
            return Err(BtfError::BadStrings { reason: "a base BTF's strings must start with the empty string" });
        }
        let strings_end = first_str
            .checked_add(str_bytes.len() as u32)
            .filter(|_| str_bytes.len() <= u32::MAX as usize)
            .ok_or(BtfError::BadStrings { reason: "string offsets overflow 32 bits" })?;
        let layout_view =
            if layout.is_empty() { None } else { Some(Layout::parse(&data[layout.clone()], header.endian)?) };
        let walk = Walk {
            types: &data[types.clone()],
            types_at: types.start,
            endian: header.endian,
            first_id,
            strings_end,
            strings: str_bytes,
            first_str,
            layout: layout_view,
        };
        let walked = walk.run()?;
        let section = |range: &Range<usize>| bytes.slice(range.clone()).unwrap_or_else(|| BtfBytes::from_static(&[]));
        let btf = Btf {
            type_bytes: section(&types),
            string_bytes: section(&strings),
            bytes,
            header,
            types,
            strings,
            layout,
            base,
            first_id,
            first_str,
            offsets: walked.offsets,
            kinds: walked.kinds.into_boxed_slice(),
            names: NameLookup::default(),
            flavours: Default::default(),
            pointer_size: std::sync::OnceLock::new(),
        };
        if walked.name_ordered {
            btf.name_order_proved();
        }
        Ok(btf)
    }

    /// Byte order of the blob.
    pub fn endian(&self) -> Endian {
        self.header.endian
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The whole blob (header and sections) this BTF was parsed from.
    pub fn raw_bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// The shared byte handle (cheap to clone).
    pub fn bytes(&self) -> &BtfBytes {
        &self.bytes
    }

    /// The base this split BTF sits on, if any.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// Whether this is split BTF.
    pub fn is_split(&self) -> bool {
        self.base.is_some()
    }

    /// Id of this blob's first own type (1 for a base, the base's [`type_count`](Self::type_count)
    /// for a split).
    pub fn first_id(&self) -> TypeId {
        self.first_id
    }

    /// One past the largest valid id: void, every base's types and this blob's own types.
    pub fn type_count(&self) -> u32 {
        self.first_id + self.offsets.len() as u32
    }

    /// Number of types this blob itself defines.
    pub fn own_type_count(&self) -> usize {
        self.offsets.len()
    }

    /// First string offset belonging to this blob (0 for a base, the base's strings length for a
    /// split).
    pub fn first_string_offset(&self) -> u32 {
        self.first_str
    }

    /// One past the largest valid string offset, bases included.
    pub fn strings_len(&self) -> u32 {
        self.first_str + self.strings.len() as u32
    }

    /// This blob's own string section.
    pub fn own_strings(&self) -> &[u8] {
        self.string_bytes.as_slice()
    }

    /// This blob's own type section.
    pub fn own_type_section(&self) -> &[u8] {
        self.type_bytes.as_slice()
    }

    /// The layout section, when the producer wrote one.
    pub fn layout(&self) -> Option<Layout<'_>> {
        if self.layout.is_empty() {
            return None;
        }
        Layout::parse(self.raw_bytes().get(self.layout.clone())?, self.endian()).ok()
    }

    /// The blob that defines `id` (this one or a base), `None` for void and out-of-range ids.
    pub fn owner_of(&self, id: TypeId) -> Option<&Btf> {
        let mut btf = self;
        loop {
            if id >= btf.first_id {
                return (id < btf.type_count()).then_some(btf);
            }
            btf = btf.base.as_deref()?;
        }
    }

    /// Where own type `id`'s record starts in [`raw_bytes`](Self::raw_bytes) (`None` for ids
    /// this blob does not define): for writers that patch fixed-size fields in place (a
    /// DATASEC's size and variable offsets) instead of re-encoding the whole blob.
    pub fn record_offset(&self, id: TypeId) -> Option<usize> {
        let index = id.checked_sub(self.first_id)? as usize;
        Some(self.types.start + self.offsets.get(index)?)
    }

    /// The type with this id, looking into bases for ids below [`first_id`](Self::first_id).
    ///
    /// Id 0 is `void`, which has no record: it is reported as out of range.
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'_>> {
        let owner = self.owner_of(id).ok_or_else(|| BtfError::IdOutOfRange { id, end: self.type_count() })?;
        Ok(owner.own_type((id - owner.first_id) as usize))
    }

    /// Start of the `index`-th own record within the type section (`usize::MAX` past the last,
    /// which every read turns into a miss).
    #[inline]
    pub(crate) fn own_offset(&self, index: usize) -> usize {
        self.offsets.get(index).unwrap_or(usize::MAX)
    }

    /// Calls `f(index, record start)` for every own type, in id order (cheaper than
    /// [`own_offset`](Self::own_offset) per index for a pass over all of them).
    pub(crate) fn each_own_offset(&self, f: impl FnMut(usize, usize)) {
        self.offsets.each(f);
    }

    /// The `index`-th own type; `index` must be below `own_type_count`.
    fn own_type(&self, index: usize) -> Type<'_> {
        let section = self.own_type_section();
        let start = self.offsets.get(index).unwrap_or(section.len());
        let end = self.offsets.get(index + 1).unwrap_or(section.len());
        Type::new(self, self.first_id + index as u32, section.get(start..end).unwrap_or(&[]))
    }

    /// This blob's own types in id order (a split's base types are not included).
    pub fn types(&self) -> impl ExactSizeIterator<Item = Type<'_>> + '_ {
        (0..self.offsets.len()).map(move |i| self.own_type(i))
    }

    /// Ids of this blob's own types of kind `kind`, in id order, found in the kind table
    /// without decoding a record (an object's DATASECs, say, without a name index).
    pub fn own_ids_of_kind(&self, kind: Kind) -> impl Iterator<Item = TypeId> + '_ {
        let (raw, first) = (kind.raw(), self.first_id);
        self.kinds.iter().enumerate().filter(move |&(_, &k)| k == raw).map(move |(i, _)| first + i as u32)
    }

    /// The kind of `id` without building a full view (`None` for void or out of range).
    pub fn kind_of(&self, id: TypeId) -> Option<Kind> {
        let owner = self.owner_of(id)?;
        Kind::from_raw(*owner.kinds.get((id - owner.first_id) as usize)?)
    }

    /// Raw kinds of the own types, in id order.
    pub(crate) fn own_kinds(&self) -> &[u8] {
        &self.kinds
    }

    /// The NUL-terminated string at `offset` (bases included), without the NUL.
    pub fn str_bytes_at(&self, offset: u32) -> Result<&[u8]> {
        let mut btf = self;
        while offset < btf.first_str {
            match btf.base.as_deref() {
                Some(base) => btf = base,
                None => break,
            }
        }
        let strings = btf.own_strings();
        let tail = offset
            .checked_sub(btf.first_str)
            .and_then(|rel| strings.get(rel as usize..))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| BtfError::StringOutOfRange { offset, len: self.strings_len() })?;
        // Validation proved the section ends with NUL, so the search always succeeds.
        Ok(&tail[..crate::names::cstr_len(tail)])
    }

    /// The string at `offset` as UTF-8 (BTF names are C identifiers; anything else is corrupt).
    pub fn str_at(&self, offset: u32) -> Result<&str> {
        crate::text::identifier_str(self.str_bytes_at(offset)?).map_err(|_| BtfError::InvalidUtf8 { offset })
    }
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian())
            .field("first_id", &self.first_id)
            .field("own_types", &self.own_type_count())
            .field("string_bytes", &self.strings.len())
            .field("split", &self.is_split())
            .finish()
    }
}
