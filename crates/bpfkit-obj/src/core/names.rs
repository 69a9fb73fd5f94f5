//! Flavours: `struct task_struct___old` in an object is a local definition of (a variant of)
//! the kernel's `struct task_struct`. The *essential* name drops the last `___suffix`, where
//! `___` is preceded and followed by something other than `_`, and candidates match when the
//! essential names are equal.

/// The essential part of `name`: everything before the last flavour separator.
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    // A separator at `i..i + 3` needs a non-'_' byte before it and after it.
    let mut i = b.len().saturating_sub(4);
    while i >= 1 {
        if &b[i..i + 3] == b"___" && b[i - 1] != b'_' && b.get(i + 3).is_some_and(|&c| c != b'_') {
            return &name[..i];
        }
        i -= 1;
    }
    name
}

/// Whether two names are the same up to flavours (anonymous names match only each other).
pub fn same_essential(a: &str, b: &str) -> bool {
    essential_name(a) == essential_name(b)
}

#[cfg(test)]
mod tests {
    use super::essential_name;

    #[test]
    fn flavours() {
        assert_eq!(essential_name("task_struct___old"), "task_struct");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("__x___y"), "__x");
        assert_eq!(essential_name("x____y"), "x____y");
        assert_eq!(essential_name("x___"), "x___");
        assert_eq!(essential_name("___x"), "___x");
        assert_eq!(essential_name(""), "");
        assert_eq!(essential_name("ab___c"), "ab");
    }
}
