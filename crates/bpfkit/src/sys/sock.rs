//! Socket options BPF uses: socket filters (`SO_ATTACH_BPF` / `SO_DETACH_BPF`) and the TCP
//! congestion control a socket runs (`TCP_CONGESTION`, how a struct_ops congestion control is
//! chosen).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Attaches socket filter `prog` to `socket`.
pub fn attach_bpf(socket: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let fd: libc::c_int = prog.as_raw_fd();
    // SAFETY: the option value is a live c_int and its exact size is passed.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_BPF,
            (&fd as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Removes the socket filter of `socket`.
pub fn detach_bpf(socket: BorrowedFd<'_>) -> io::Result<()> {
    let zero: libc::c_int = 0;
    // SAFETY: as in `attach_bpf`; the kernel ignores the value.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_DETACH_BPF,
            (&zero as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Makes TCP socket `socket` use congestion control `name` (`TCP_CONGESTION`), for example one
/// a `tcp_congestion_ops` struct_ops map registered.
pub fn set_tcp_congestion(socket: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    // SAFETY: the option value is a live byte buffer and its exact length is passed.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}
