//! Waiting for Ctrl-C (SIGINT) or SIGTERM without a signal handler: the signals are blocked in
//! the calling thread and read from a `signalfd`, so a tool can poll "interrupted?" between
//! stats lines and clean up (detach its programs) instead of dying with them attached.

use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

/// SIGINT and SIGTERM, readable from an fd while they are blocked in this thread.
#[derive(Debug)]
pub struct Interrupts {
    fd: OwnedFd,
}

fn termination_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise the set in place; an all-zero sigset_t is valid
    // storage for them.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}

impl Interrupts {
    /// Blocks SIGINT and SIGTERM in the calling thread (threads it spawns later inherit that)
    /// and opens a signalfd for them.
    pub fn new() -> io::Result<Interrupts> {
        let set = termination_set();
        // SAFETY: a valid set; the old mask is not wanted (NULL).
        let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        // SAFETY: a valid set; -1 asks for a new fd.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: signalfd just returned this fd; nothing else owns it.
        Ok(Interrupts { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Waits up to `timeout_ms` (-1: forever) for SIGINT or SIGTERM; true when one arrived.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        super::mmap::poll_readable(self.fd.as_fd(), timeout_ms)
    }
}
