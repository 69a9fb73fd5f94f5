//! Test harness for bpfkit (a dev-dependency, never shipped).
//!
//! - [`skip`]: tests that need root or a kernel feature print why they skip (or fail under CI).
//! - [`kernel`], [`chroot`], [`testmod`], [`kmod`]: a Debian sid kernel, a sid chroot to build
//!   for it, the project's own test module, and the kernel modules to load in load order.
//! - [`packet`]: test frames for packet programs and the `net` fixture's expected verdicts.
//! - [`corpus`]: the Debian kernel BTF corpus, fetched on first use.
//! - [`definitions`]: what a compiled BPF fixture defines (programs, maps, sections, ...).
//! - [`real_objects`]: BPF objects nobody in this project wrote (scx schedulers, Debian
//!   packages' objects), built or fetched on first use.
//! - [`vm`], [`guest`], [`cpio`]: boot that kernel under QEMU with a test binary and modules,
//!   stream the console, and turn the guest's result into an exit status.
//!
//! Everything downloaded or built is cached under `$BPFKIT_CACHE` (default `~/.cache/bpfkit`).
#![warn(missing_docs)]

pub mod cache;
pub mod chroot;
pub mod command;
pub mod corpus;
pub mod cpio;
pub mod definitions;
pub mod error;
pub mod guest;
pub mod kernel;
pub mod kmod;
pub mod packet;
pub mod real_objects;
pub mod reference;
pub mod skip;
pub mod testmod;
pub mod vm;

pub use error::{Error, Result};
