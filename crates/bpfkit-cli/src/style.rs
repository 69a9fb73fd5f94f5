//! Terminal presentation: colour and progress lines only where a person watches (the stream is a
//! terminal and `NO_COLOR` is not set), plain and stable text when piped or redirected.

use std::io::IsTerminal;

/// How to decorate output for one stream.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// For stdout.
    pub fn stdout() -> Style {
        Style { color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() }
    }

    /// Whether stderr can take progress lines that redraw themselves.
    pub fn progress_on_stderr() -> bool {
        std::io::stderr().is_terminal()
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    /// A heading.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Something that worked.
    pub fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Something that failed.
    pub fn bad(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Secondary detail.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}
