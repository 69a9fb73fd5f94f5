//! `/proc/kallsyms`: addresses of kernel symbols, for typeless `__ksym` externs (`extern const
//! void sym __ksym`). Compiler-generated local names carry `.llvm.<hash>` suffixes (LTO); an
//! extern names the symbol without it. A name with two different addresses (two static
//! functions of the same name) is ambiguous: refusing it beats picking one at random.

use std::collections::HashMap;

/// Addresses of kernel symbols by name.
#[derive(Debug, Default)]
pub(crate) struct Kallsyms {
    by_name: HashMap<String, Vec<u64>>,
}

impl Kallsyms {
    /// Reads the addresses of `wanted` from `/proc/kallsyms` (read afresh: modules come and go).
    pub(crate) fn read(wanted: &[&str]) -> Result<Kallsyms, String> {
        let text = std::fs::read_to_string("/proc/kallsyms").map_err(|e| format!("/proc/kallsyms: {e}"))?;
        if text.lines().next().is_some_and(|l| l.starts_with("0000000000000000 ")) {
            return Err("/proc/kallsyms shows no addresses (kernel.kptr_restrict, or not root)".into());
        }
        Ok(Kallsyms::parse(&text, wanted))
    }

    /// Parses kallsyms text (`ADDR TYPE NAME [MODULE]` per line), keeping the names in `wanted`.
    pub(crate) fn parse(text: &str, wanted: &[&str]) -> Kallsyms {
        let mut by_name: HashMap<String, Vec<u64>> = HashMap::new();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(addr), Some(_kind), Some(name)) = (f.next(), f.next(), f.next()) else { continue };
            let name = match name.find(".llvm.") {
                Some(at) => &name[..at],
                None => name,
            };
            if !wanted.contains(&name) {
                continue;
            }
            let Ok(addr) = u64::from_str_radix(addr, 16) else { continue };
            let slot = by_name.entry(name.to_owned()).or_default();
            if !slot.contains(&addr) {
                slot.push(addr);
            }
        }
        Kallsyms { by_name }
    }

    /// The address of `name`: `Ok(None)` when absent, an error when it has several.
    pub(crate) fn address(&self, name: &str) -> Result<Option<u64>, String> {
        match self.by_name.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(*one)),
            Some(many) => {
                let list: Vec<String> = many.iter().map(|a| format!("{a:#x}")).collect();
                Err(format!("{name} is at {} addresses in /proc/kallsyms ({})", many.len(), list.join(", ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Kallsyms;

    #[test]
    fn suffixes_and_duplicates() {
        let k = Kallsyms::parse(
            "ffffffff81000000 T _text\nffffffff81000010 t foo.llvm.1234\nffffffff81000020 t dup\nffffffff81000030 t dup\nffffffff81000040 t bar [mod]\n",
            &["_text", "foo", "bar", "dup", "nope"],
        );
        assert_eq!(k.address("_text"), Ok(Some(0xffff_ffff_8100_0000)));
        assert_eq!(k.address("foo"), Ok(Some(0xffff_ffff_8100_0010)));
        assert_eq!(k.address("bar"), Ok(Some(0xffff_ffff_8100_0040)));
        assert_eq!(k.address("nope"), Ok(None));
        assert!(k.address("dup").unwrap_err().contains("2 addresses"));
    }
}
