//! `bpfkit kernel`: what the running kernel offers to BPF: its BTF (vmlinux and each loaded
//! module's, with sizes and type counts), its kfuncs by module with their C prototypes, and the
//! struct_ops types programs can implement, optionally filtered by name.

use std::io::{self, Write};

use bpfkit::kernel_btf;

use crate::btf::json;

/// Prints the report (text or JSON) of what matches `filter` (all when `None`).
pub fn print(filter: Option<&str>, as_json: bool, out: &mut impl Write) -> Result<(), bpfkit::Error> {
    let registry = kernel_btf::registry()?;
    let modules = registry.modules()?;
    let keep = |name: &str| filter.is_none_or(|f| name.contains(f));
    let kfuncs = registry.kfuncs()?;
    let ops = registry.struct_ops_types();
    let io = |e: io::Error| bpfkit::Error::Sys { op: "write".into(), source: e };
    if as_json {
        let mut w = || -> io::Result<()> {
            write!(
                out,
                "{{\"btf\":[{{\"name\":\"vmlinux\",\"bytes\":{},\"types\":{}}}",
                registry.vmlinux().raw_bytes().len(),
                registry.vmlinux().own_type_count()
            )?;
            for m in modules.iter().filter(|m| keep(&m.name)) {
                out.write_all(b",{\"name\":")?;
                json::string(out, &m.name)?;
                write!(out, ",\"bytes\":{},\"types\":{}}}", m.btf.raw_bytes().len(), m.btf.own_type_count())?;
            }
            out.write_all(b"],\"kfuncs\":[")?;
            for (i, k) in kfuncs.iter().filter(|k| keep(&k.name)).enumerate() {
                out.write_all(if i == 0 { b"{\"name\":" } else { b",{\"name\":" })?;
                json::string(out, &k.name)?;
                out.write_all(b",\"module\":")?;
                json::string(out, k.module.as_deref().unwrap_or("vmlinux"))?;
                out.write_all(b",\"prototype\":")?;
                json::string(out, &k.prototype)?;
                out.write_all(b"}")?;
            }
            out.write_all(b"],\"struct_ops\":[")?;
            for (i, t) in ops.iter().filter(|t| keep(t)).enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                json::string(out, t)?;
            }
            out.write_all(b"]}\n")
        };
        return w().map_err(io);
    }
    let style = crate::style::Style::stdout();
    let mut w = || -> io::Result<()> {
        writeln!(out, "{}", style.bold("BTF"))?;
        let v = registry.vmlinux();
        writeln!(out, "  {:<24} {:>10} bytes {:>8} types", "vmlinux", v.raw_bytes().len(), v.own_type_count())?;
        for m in modules.iter().filter(|m| keep(&m.name)) {
            writeln!(
                out,
                "  {:<24} {:>10} bytes {:>8} types",
                m.name,
                m.btf.raw_bytes().len(),
                m.btf.own_type_count()
            )?;
        }
        let shown: Vec<_> = kfuncs.iter().filter(|k| keep(&k.name)).collect();
        writeln!(out, "{}", style.bold(&format!("kfuncs ({})", shown.len())))?;
        for k in shown {
            writeln!(
                out,
                "  {} {}",
                style.dim(&format!("{:<16}", k.module.as_deref().unwrap_or("vmlinux"))),
                k.prototype
            )?;
        }
        let shown: Vec<_> = ops.iter().filter(|t| keep(t)).collect();
        writeln!(out, "{}", style.bold(&format!("struct_ops types ({})", shown.len())))?;
        for t in shown {
            writeln!(out, "  {t}")?;
        }
        Ok(())
    };
    w().map_err(io)
}
