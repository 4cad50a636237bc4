//! Go `text/template` source → a tree: text, `{{pipeline}}`, `if`/`else
//! if`/`else`, `range` (with `$k, $v :=`), `with`, variable declarations,
//! comments and the `{{-`/`-}}` trim markers.

use super::Result;

/// A parsed template body.
pub type List = Vec<Node>;

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    /// `{{pipeline}}` (the value is printed unless it declares variables).
    Action(Pipeline),
    If(Pipeline, List, List),
    Range(Pipeline, List, List),
    With(Pipeline, List, List),
}

/// `$a, $b := cmd | cmd ...`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub decl: Vec<String>,
    pub cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// `.A.B` (empty: `.`).
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root).
    Var(String, Vec<String>),
    /// A function name.
    Ident(String),
    Str(String),
    Num(f64, bool),
    Bool(bool),
    Nil,
    /// `(pipeline).A.B`.
    Sub(Box<Pipeline>, Vec<String>),
}

/// One `{{...}}` or text piece, before nesting.
enum Item {
    Text(String),
    Action(String),
}

fn items(src: &str) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(i) = rest.find("{{") {
        let mut text = &rest[..i];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[i + 2..];
        let trim_left =
            after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            out.push(Item::Text(text.to_string()));
        }
        let body_start = if trim_left { 1 } else { 0 };
        let Some(j) = find_close(&after[body_start..]) else {
            bail!(
                "unclosed action: {{{{{}",
                after.chars().take(20).collect::<String>()
            );
        };
        let mut body = &after[body_start..body_start + j];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        let body = body.trim();
        if !(body.starts_with("/*") && body.ends_with("*/")) {
            out.push(Item::Action(body.to_string()));
        }
        rest = &after[body_start + j + 2..];
    }
    let mut text = rest;
    if trim_next {
        text = text.trim_start();
    }
    if !text.is_empty() {
        out.push(Item::Text(text.to_string()));
    }
    Ok(out)
}

/// The `}}` closing an action, skipping string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b[i + 1] == b'}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses a whole template.
pub fn parse(src: &str) -> Result<List> {
    let items = items(src)?;
    let mut pos = 0;
    let (list, end) = parse_list(&items, &mut pos)?;
    if let Some(e) = end {
        bail!("unexpected {{{{{e}}}}}");
    }
    Ok(list)
}

/// Parses until `end`/`else` (returned) or the end of input.
fn parse_list(items: &[Item], pos: &mut usize) -> Result<(List, Option<String>)> {
    let mut list = Vec::new();
    while *pos < items.len() {
        let item = &items[*pos];
        *pos += 1;
        let a = match item {
            Item::Text(t) => {
                list.push(Node::Text(t.clone()));
                continue;
            }
            Item::Action(a) => a.as_str(),
        };
        let (word, rest) = split_word(a);
        match word {
            "end" => return Ok((list, Some("end".into()))),
            "else" => return Ok((list, Some(a.to_string()))),
            "if" | "range" | "with" => {
                let p = parse_pipeline(rest)?;
                let (body, end) = parse_list(items, pos)?;
                let other = match end.as_deref() {
                    Some("end") => Vec::new(),
                    Some(e) if e.starts_with("else") => {
                        let (_, cond) = split_word(e);
                        if word == "if" && cond.starts_with("if ") {
                            // `else if X`: an if nested in the else branch,
                            // closed by the same `end`.
                            let (_, c) = split_word(cond);
                            let inner = parse_pipeline(c)?;
                            let (b, e2) = parse_list(items, pos)?;
                            let o = finish_else(items, pos, e2)?;
                            vec![Node::If(inner, b, o)]
                        } else {
                            let (o, e2) = parse_list(items, pos)?;
                            if e2.as_deref() != Some("end") {
                                bail!("{{{{{word}}}}} without {{{{end}}}}");
                            }
                            o
                        }
                    }
                    _ => bail!("{{{{{word} {rest}}}}} without {{{{end}}}}"),
                };
                list.push(match word {
                    "if" => Node::If(p, body, other),
                    "range" => Node::Range(p, body, other),
                    _ => Node::With(p, body, other),
                });
            }
            "template" | "define" | "block" | "break" | "continue" => {
                bail!("{{{{{word}}}}} is not supported")
            }
            _ => list.push(Node::Action(parse_pipeline(a)?)),
        }
    }
    Ok((list, None))
}

/// The rest of an `else if` chain after its body ended with `end`.
fn finish_else(items: &[Item], pos: &mut usize, end: Option<String>) -> Result<List> {
    match end.as_deref() {
        Some("end") => Ok(Vec::new()),
        Some(e) if e.starts_with("else") => {
            let (_, cond) = split_word(e);
            if let Some(c) = cond.strip_prefix("if ") {
                let inner = parse_pipeline(c.trim())?;
                let (b, e2) = parse_list(items, pos)?;
                let o = finish_else(items, pos, e2)?;
                Ok(vec![Node::If(inner, b, o)])
            } else {
                let (o, e2) = parse_list(items, pos)?;
                if e2.as_deref() != Some("end") {
                    bail!("{{{{if}}}} without {{{{end}}}}");
                }
                Ok(o)
            }
        }
        _ => bail!("{{{{if}}}} without {{{{end}}}}"),
    }
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

/// Tokens of a pipeline.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Pipe,
    Open,
    Close,
    Comma,
    Declare,
    /// A field chain right after `)`: `.A.B`.
    Fields(Vec<String>),
}

fn tokens(s: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
                if cs.get(i) == Some(&'.') {
                    let start = i;
                    while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_' || cs[i] == '.')
                    {
                        i += 1;
                    }
                    let chain: String = cs[start..i].iter().collect();
                    out.push(Tok::Fields(fields(&chain)));
                }
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' if cs.get(i + 1) == Some(&'=') => {
                out.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                // Assignment to an existing variable: treated as a declaration.
                out.push(Tok::Declare);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match cs.get(i) {
                        None => bail!("unterminated string in {s:?}"),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            s.push(match cs.get(i) {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some('r') => '\r',
                                Some(&o) => o,
                                None => bail!("unterminated string"),
                            });
                        }
                        Some(&o) => s.push(o),
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(s));
            }
            '`' => {
                let start = i + 1;
                i = start;
                while i < cs.len() && cs[i] != '`' {
                    i += 1;
                }
                if i >= cs.len() {
                    bail!("unterminated raw string");
                }
                out.push(Tok::Str(cs[start..i].iter().collect()));
                i += 1;
            }
            _ => {
                let start = i;
                while i < cs.len() && !cs[i].is_whitespace() && !"|(),\"`".contains(cs[i]) {
                    if cs[i] == ':' && cs.get(i + 1) == Some(&'=') {
                        break;
                    }
                    i += 1;
                }
                out.push(Tok::Word(cs[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

fn fields(chain: &str) -> Vec<String> {
    chain
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses the text of an action as a pipeline.
pub fn parse_pipeline(s: &str) -> Result<Pipeline> {
    let toks = tokens(s)?;
    let mut pos = 0;
    let p = pipeline(&toks, &mut pos)?;
    if pos != toks.len() {
        bail!("unexpected {:?} in {s:?}", toks[pos]);
    }
    Ok(p)
}

fn pipeline(toks: &[Tok], pos: &mut usize) -> Result<Pipeline> {
    let mut decl = Vec::new();
    // `$a :=` or `$a, $b :=`.
    let mut look = *pos;
    let mut names = Vec::new();
    while let Some(Tok::Word(w)) = toks.get(look) {
        if !w.starts_with('$') {
            break;
        }
        names.push(w.clone());
        look += 1;
        match toks.get(look) {
            Some(Tok::Comma) => look += 1,
            Some(Tok::Declare) => {
                decl = names.clone();
                *pos = look + 1;
                break;
            }
            _ => break,
        }
    }
    let mut cmds = vec![Vec::new()];
    while let Some(t) = toks.get(*pos) {
        match t {
            Tok::Close => break,
            Tok::Pipe => {
                *pos += 1;
                cmds.push(Vec::new());
            }
            _ => {
                let a = arg(toks, pos)?;
                cmds.last_mut().unwrap_or(&mut Vec::new()).push(a);
            }
        }
    }
    if cmds.iter().any(Vec::is_empty) {
        bail!("missing value in pipeline");
    }
    Ok(Pipeline { decl, cmds })
}

fn arg(toks: &[Tok], pos: &mut usize) -> Result<Arg> {
    let t = toks[*pos].clone();
    *pos += 1;
    Ok(match t {
        Tok::Str(s) => Arg::Str(s),
        Tok::Open => {
            let p = pipeline(toks, pos)?;
            if toks.get(*pos) != Some(&Tok::Close) {
                bail!("unclosed (");
            }
            *pos += 1;
            let chain = match toks.get(*pos) {
                Some(Tok::Fields(f)) => {
                    *pos += 1;
                    f.clone()
                }
                _ => Vec::new(),
            };
            Arg::Sub(Box::new(p), chain)
        }
        Tok::Word(w) => word(&w)?,
        other => bail!("unexpected {other:?}"),
    })
}

fn word(w: &str) -> Result<Arg> {
    Ok(if let Some(chain) = w.strip_prefix('.') {
        Arg::Field(fields(chain))
    } else if let Some(v) = w.strip_prefix('$') {
        let mut parts = v.splitn(2, '.');
        let name = format!("${}", parts.next().unwrap_or(""));
        Arg::Var(name, parts.next().map(fields).unwrap_or_default())
    } else if w == "true" || w == "false" {
        Arg::Bool(w == "true")
    } else if w == "nil" {
        Arg::Nil
    } else if w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        let n: f64 = w.parse().map_err(|_| terr!("bad number {w:?}"))?;
        Arg::Num(n, !w.contains(['.', 'e', 'E']))
    } else if w.chars().all(|c| c.is_alphanumeric() || c == '_') {
        Arg::Ident(w.to_string())
    } else {
        bail!("unexpected {w:?}")
    })
}
