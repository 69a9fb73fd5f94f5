//! `bpfkit demo`: the product on this machine's own kernel, with nothing to set up: what the
//! kernel's BTF offers, then the bundled TCP congestion control (`bpf/tcp_cc.bpf.o`, struct_ops
//! calling Reno's kfuncs) registered, carrying a loopback transfer, and unregistered.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Instant;

use bpfkit::{OpenObject, kernel_btf};

use crate::error::CliError;
use crate::style::Style;

/// The congestion control object, built from `bpf/tcp_cc.bpf.c` (checked against its source by
/// `cargo xtask build-bpf --check`).
const TCP_CC: &[u8] = include_bytes!("../../../bpf/tcp_cc.bpf.o");
const CC_NAME: &str = "bpfkit_reno";
const AVAILABLE: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";
/// How much the demo sends over loopback.
const TRANSFER: u64 = 256 << 20;

fn available() -> String {
    std::fs::read_to_string(AVAILABLE).unwrap_or_default().trim().to_owned()
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs the demo.
pub fn run(out: &mut impl Write) -> Result<(), CliError> {
    let style = Style::stdout();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    writeln!(out, "{}", style.bold(&format!("bpfkit on Linux {}", release.trim())))?;

    let start = Instant::now();
    let registry = kernel_btf::registry()?;
    let vmlinux = registry.vmlinux();
    let modules = registry.modules()?;
    let kfuncs = registry.kfuncs()?;
    let ops = registry.struct_ops_types();
    writeln!(out, "\n{}", style.bold("Kernel BTF"))?;
    writeln!(
        out,
        "  vmlinux: {} types, {:.1} MB; {} loaded modules with BTF ({} types); read in {:.1} ms",
        thousands(vmlinux.own_type_count() as u64),
        vmlinux.raw_bytes().len() as f64 / 1e6,
        modules.len(),
        thousands(modules.iter().map(|m| m.btf.own_type_count() as u64).sum()),
        start.elapsed().as_secs_f64() * 1e3
    )?;
    let ops_list: Vec<&str> = ops.iter().map(String::as_str).take(6).collect();
    let more = if ops.len() > ops_list.len() { ", ..." } else { "" };
    writeln!(
        out,
        "  {} kfuncs callable from BPF; {} struct_ops types ({}{more})",
        kfuncs.len(),
        ops.len(),
        ops_list.join(", ")
    )?;
    writeln!(out, "  {}", style.dim("(`bpfkit kernel` lists them with C prototypes)"))?;

    writeln!(out, "\n{}", style.bold("A TCP congestion control written in BPF (bundled tcp_cc.bpf.o)"))?;
    // Loading BPF needs privileges (CAP_BPF, CAP_NET_ADMIN): say so instead of failing.
    let euid = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
    });
    if euid.as_deref() != Some("0") {
        writeln!(out, "  {}", style.dim("skipped: loading BPF programs needs root (run as root to see it)"))?;
        return Ok(());
    }
    let start = Instant::now();
    let obj = OpenObject::from_bytes("tcp_cc.bpf.o", TCP_CC)?.load()?;
    let loaded = start.elapsed();
    let programs = obj.programs().count();
    let link = obj.map(CC_NAME)?.attach_struct_ops()?;
    writeln!(
        out,
        "  loaded {programs} programs (kfuncs resolved in vmlinux BTF) and registered {CC_NAME} in {:.1} ms",
        loaded.as_secs_f64() * 1e3
    )?;
    writeln!(out, "  tcp_available_congestion_control: {}", available())?;

    let (sent, elapsed) = transfer()?;
    let (inits, acks): (u64, u64) = (obj.global_as("inits")?, obj.global_as("acks")?);
    writeln!(
        out,
        "  sent {} MiB over loopback with TCP_CONGESTION={CC_NAME}: {:.2} s, {:.0} MiB/s",
        sent >> 20,
        elapsed,
        (sent >> 20) as f64 / elapsed.max(1e-9)
    )?;
    writeln!(out, "  the BPF programs ran: init {} time(s), cong_avoid on {} ACKs", thousands(inits), thousands(acks))?;
    link.detach()?;
    let gone = !available().split_whitespace().any(|n| n == CC_NAME);
    let verdict = if gone { style.good("unregistered") } else { style.bad("still registered?") };
    writeln!(out, "  {verdict}: tcp_available_congestion_control: {}", available())?;
    Ok(())
}

/// Sends [`TRANSFER`] bytes over a loopback connection using the BPF congestion control;
/// returns bytes received and seconds taken.
fn transfer() -> Result<(u64, f64), CliError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |source: std::io::Error| CliError::Loader(bpfkit::Error::Sys { op: what, source })
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("listen on loopback"))?;
    let addr = listener.local_addr().map_err(io("listen on loopback"))?;
    let reader = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut conn, _) = listener.accept()?;
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            match conn.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    });
    let mut stream = TcpStream::connect(addr).map_err(io("connect over loopback"))?;
    bpfkit::sys::sock::set_tcp_congestion(stream.as_fd(), CC_NAME).map_err(io("setsockopt TCP_CONGESTION"))?;
    let chunk = vec![0x5au8; 1 << 16];
    let progress = Style::progress_on_stderr();
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < TRANSFER {
        stream.write_all(&chunk).map_err(io("send over loopback"))?;
        sent += chunk.len() as u64;
        if progress && sent % (16 << 20) == 0 {
            eprint!("\r  sending: {} / {} MiB", sent >> 20, TRANSFER >> 20);
        }
    }
    drop(stream);
    if progress {
        eprint!("\r{:40}\r", "");
    }
    let received = reader
        .join()
        .map_err(|_| CliError::Failed("the loopback reader thread panicked".into()))?
        .map_err(io("receive over loopback"))?;
    Ok((received, start.elapsed().as_secs_f64()))
}
