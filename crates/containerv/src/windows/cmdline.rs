//! Building a Windows command line from an argv.
//!
//! Windows passes a program one string; the program's C runtime (MSVCRT,
//! UCRT, Rust's std) splits it back into argv. The quoting here follows
//! those documented rules ("Parsing C command-line arguments", Microsoft
//! C/C++ docs), so any argument survives the round trip:
//!
//! - arguments are separated by spaces or tabs; an argument with a space,
//!   tab, newline, vertical tab or `"` (or an empty one) is wrapped in `"`;
//! - inside quotes, `\` is literal unless a run of them precedes a `"`:
//!   `2n` backslashes + `"` mean `n` backslashes and the closing quote, and
//!   `2n+1` backslashes + `"` mean `n` backslashes and a literal `"`. So a
//!   literal `"` becomes `\"` and the backslashes before it (or before the
//!   closing quote) are doubled;
//! - `argv[0]` follows different rules (no escapes: quotes only toggle), so
//!   it is quoted when it has a space or tab and may not contain `"`.
//!
//! `cmd.exe` and batch files parse their command line their own way, so
//! `.bat`/`.cmd` programs are refused: run them as `cmd.exe /d /c ...`,
//! knowing that cmd then applies its own rules to the rest.

use crate::error::{Error, Result};

/// Joins `args` into one command line (UTF-16, NUL-terminated) for
/// `CreateProcessW`.
pub(crate) fn command_line(args: &[String]) -> Result<Vec<u16>> {
    let line = command_line_string(args)?;
    Ok(line.encode_utf16().chain(std::iter::once(0)).collect())
}

/// The command line as a string (what [`command_line`] encodes).
pub(crate) fn command_line_string(args: &[String]) -> Result<String> {
    let (program, rest) = args
        .split_first()
        .ok_or_else(|| Error::option("args", "", "an empty command"))?;
    if program.is_empty() {
        return Err(Error::option("args", "", "an empty program name"));
    }
    let mut line = String::new();
    quote_program(program, &mut line)?;
    for arg in rest {
        if arg.contains('\0') {
            return Err(Error::option(
                "argument",
                arg.replace('\0', "\\0"),
                "contains a NUL character",
            ));
        }
        line.push(' ');
        quote_arg(arg, &mut line);
    }
    Ok(line)
}

fn quote_program(program: &str, out: &mut String) -> Result<()> {
    if program.contains('"') || program.contains('\0') {
        return Err(Error::option(
            "program",
            program,
            "a Windows program name may not contain '\"' or NUL",
        ));
    }
    if program.contains([' ', '\t']) {
        out.push('"');
        out.push_str(program);
        out.push('"');
    } else {
        out.push_str(program);
    }
    Ok(())
}

/// Appends `arg` to `out`, quoted so the MSVCRT rules give `arg` back.
pub(crate) fn quote_arg(arg: &str, out: &mut String) {
    let needs_quotes = arg.is_empty() || arg.contains([' ', '\t', '\n', '\x0b', '"']);
    if !needs_quotes {
        out.push_str(arg);
        return;
    }
    out.push('"');
    let mut backslashes = 0usize;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                // n backslashes before a quote: 2n + 1, then the quote.
                push_backslashes(out, backslashes * 2 + 1);
                out.push('"');
                backslashes = 0;
            }
            _ => {
                push_backslashes(out, backslashes);
                backslashes = 0;
                out.push(c);
            }
        }
    }
    // Before the closing quote: 2n.
    push_backslashes(out, backslashes * 2);
    out.push('"');
}

fn push_backslashes(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n('\\', n));
}

/// True when `program` names a batch file, which `cmd.exe` would parse with
/// its own rules (refused, see the module doc).
pub(crate) fn is_batch_file(program: &std::path::Path) -> bool {
    program
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("bat") || e.eq_ignore_ascii_case("cmd"))
}

/// Splits a command line the way the MSVC runtime does (the inverse of
/// [`command_line_string`], for the unit tests' round trip).
#[cfg(test)]
pub(crate) fn parse(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    // argv[0]: quotes toggle, no escapes.
    let mut prog = String::new();
    let mut in_quotes = false;
    while let Some(&c) = chars.peek() {
        if !in_quotes && (c == ' ' || c == '\t') {
            break;
        }
        chars.next();
        if c == '"' {
            in_quotes = !in_quotes;
        } else {
            prog.push(c);
        }
    }
    args.push(prog);
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut arg = String::new();
        let mut in_quotes = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let mut n = 1;
                    while chars.peek() == Some(&'\\') {
                        chars.next();
                        n += 1;
                    }
                    if chars.peek() == Some(&'"') {
                        arg.extend(std::iter::repeat_n('\\', n / 2));
                        if n % 2 == 1 {
                            chars.next();
                            arg.push('"');
                        }
                    } else {
                        arg.extend(std::iter::repeat_n('\\', n));
                    }
                }
                '"' => {
                    if in_quotes && chars.peek() == Some(&'"') {
                        // "" inside quotes: a literal quote (post-2008 CRT).
                        chars.next();
                        arg.push('"');
                    } else {
                        in_quotes = !in_quotes;
                    }
                }
                ' ' | '\t' if !in_quotes => break,
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> String {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        command_line_string(&v).unwrap()
    }

    #[test]
    fn documented_examples() {
        // Plain words pass unchanged.
        assert_eq!(line(&["a.exe", "b", "c"]), "a.exe b c");
        // Spaces and tabs need quotes; empty args too.
        assert_eq!(
            line(&["a.exe", "b c", "d\te", ""]),
            r#"a.exe "b c" "d	e" """#
        );
        // Backslashes not before a quote are literal, quoted or not.
        assert_eq!(line(&["a.exe", r"C:\dir\f"]), r"a.exe C:\dir\f");
        assert_eq!(line(&["a.exe", r"C:\my dir\f"]), r#"a.exe "C:\my dir\f""#);
        // A quote: escaped, with the backslashes before it doubled.
        assert_eq!(line(&["a.exe", r#"a"b"#]), r#"a.exe "a\"b""#);
        assert_eq!(line(&["a.exe", r#"a\"b"#]), r#"a.exe "a\\\"b""#);
        // Trailing backslashes doubled before the closing quote only.
        assert_eq!(
            line(&["a.exe", r"dir with space\"]),
            r#"a.exe "dir with space\\""#
        );
        assert_eq!(line(&["a.exe", r"no_space\"]), r"a.exe no_space\");
        // argv[0] with a space is quoted as a whole.
        assert_eq!(
            line(&[r"C:\Program Files\x.exe", "y"]),
            r#""C:\Program Files\x.exe" y"#
        );
    }

    #[test]
    fn round_trip() {
        let cases: &[&[&str]] = &[
            &["p", ""],
            &["p", " "],
            &["p", "\t"],
            &["p", "\""],
            &["p", "\\"],
            &["p", "\\\\"],
            &["p", "a\\"],
            &["p", "a b\\"],
            &["p", "a b\\\\"],
            &["p", "\\\"\\\""],
            &["p", "\"a b\""],
            &["p", "x\ny", "x\x0by"],
            &["p", "ünïcødé ✓", "日本"],
            &[r"C:\a b\p.exe", "--flag=\"q\"", r"\\server\share\"],
        ];
        for case in cases {
            let args: Vec<String> = case.iter().map(|s| s.to_string()).collect();
            let l = command_line_string(&args).unwrap();
            assert_eq!(parse(&l), args, "command line {l:?}");
        }
    }

    #[test]
    fn bad_input() {
        let e = command_line_string(&[]).unwrap_err().to_string();
        assert!(e.contains("empty command"), "{e}");
        let e = command_line_string(&["a\"b.exe".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("program"), "{e}");
        let e = command_line_string(&["a.exe".into(), "x\0y".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("NUL"), "{e}");
        assert!(is_batch_file(std::path::Path::new(r"C:\x\run.BAT")));
        assert!(is_batch_file(std::path::Path::new("x.cmd")));
        assert!(!is_batch_file(std::path::Path::new("cmd.exe")));
    }
}
