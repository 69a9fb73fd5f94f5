//! Plain-old-data values as bytes: what map keys and values are to the kernel. The byte-view
//! half of the syscall layer, so typed map access needs no `unsafe` elsewhere.

/// A type whose every bit pattern is a valid value and that has no padding or pointers, so it
/// can be copied to and from map memory byte for byte (integers, arrays of them, and
/// `#[repr(C)]` structs of them without padding).
///
/// # Safety
/// Implement only for `Copy` types with no padding bytes, no pointers or references, and for
/// which any byte sequence of `size_of::<Self>()` bytes is a valid value.
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: primitive integers have no padding and every bit pattern is valid.
        unsafe impl Pod for $t {}
    )* };
}
pod!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, usize, isize);

// SAFETY: an array of padding-free, any-bit-pattern elements has the same properties.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// The bytes of `value`.
pub fn bytes_of<T: Pod>(value: &T) -> &[u8] {
    // SAFETY: `T: Pod` has no padding, so all `size_of::<T>()` bytes are initialised; the slice
    // borrows `value` and cannot outlive it.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// A `T` read from the start of `bytes`; `None` when `bytes` is shorter than `T`.
pub fn from_bytes<T: Pod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: at least `size_of::<T>()` readable bytes; any bit pattern is a valid `T` (`Pod`);
    // `read_unaligned` has no alignment requirement.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v: [u32; 2] = [1, 0xdead_beef];
        let b = bytes_of(&v);
        assert_eq!(b.len(), 8);
        assert_eq!(from_bytes::<[u32; 2]>(b), Some(v));
        assert_eq!(from_bytes::<u64>(&b[..7]), None);
    }
}
