//! The functions a `--format` template can call: docker's (`json`, `join`,
//! `split`, `lower`, `upper`, `title`, `truncate`, `pad`) and Go's
//! built-ins (`print`, `printf`, `println`, `len`, `index`, `eq`, `ne`,
//! `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`), and how values print (Go's
//! `%v` of the JSON docker's Go values become).

use super::Result;
use serde_json::Value;

/// A value as `{{.X}}` prints it.
pub fn print(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<no value>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::Array(a) => format!("[{}]", a.iter().map(print).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", print(&o[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        if f.fract() == 0.0 && f.abs() < 1e21 {
            // Go's %v of a whole float64 (a JSON number) in range.
            format!("{f:.0}")
        } else {
            f.to_string()
        }
    }
}

/// Go's truth: false, 0, "", nil and empty collections are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

fn want(name: &str, args: &[Value], n: usize) -> Result<()> {
    if args.len() != n {
        bail!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        );
    }
    Ok(())
}

fn int(name: &str, v: &Value) -> Result<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| terr!("{name}: {} is not an integer", print(v)))
}

/// Calls function `name`.
pub fn call(name: &str, args: &[Value]) -> Result<Value> {
    let s = |i: usize| print(&args[i]);
    Ok(match name {
        "json" => {
            want(name, args, 1)?;
            Value::from(serde_json::to_string(&args[0])?)
        }
        "join" => {
            want(name, args, 2)?;
            let items: Vec<String> = match &args[0] {
                Value::Array(a) => a.iter().map(print).collect(),
                Value::Null => Vec::new(),
                other => vec![print(other)],
            };
            Value::from(items.join(&s(1)))
        }
        "split" => {
            want(name, args, 2)?;
            Value::from(
                s(0).split(s(1).as_str())
                    .map(|p| Value::from(p.to_string()))
                    .collect::<Vec<_>>(),
            )
        }
        "lower" => {
            want(name, args, 1)?;
            Value::from(s(0).to_lowercase())
        }
        "upper" => {
            want(name, args, 1)?;
            Value::from(s(0).to_uppercase())
        }
        "title" => {
            want(name, args, 1)?;
            let mut out = String::new();
            let mut start = true;
            for c in s(0).chars() {
                if start && c.is_alphanumeric() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !c.is_alphanumeric();
            }
            Value::from(out)
        }
        "truncate" => {
            want(name, args, 2)?;
            let n = int(name, &args[1])?.max(0) as usize;
            Value::from(s(0).chars().take(n).collect::<String>())
        }
        "pad" => {
            want(name, args, 3)?;
            let l = int(name, &args[1])?.max(0) as usize;
            let r = int(name, &args[2])?.max(0) as usize;
            Value::from(format!("{}{}{}", " ".repeat(l), s(0), " ".repeat(r)))
        }
        "print" => Value::from(go_print(args)),
        "println" => Value::from(args.iter().map(print).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            let Some((f, rest)) = args.split_first() else {
                bail!("printf: no format");
            };
            Value::from(printf(&print(f), rest)?)
        }
        "len" => {
            want(name, args, 1)?;
            Value::from(match &args[0] {
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                Value::String(s) => s.len(),
                Value::Null => 0,
                other => bail!("len of {}", type_name(other)),
            })
        }
        "index" => {
            let Some((first, keys)) = args.split_first() else {
                bail!("index: no value");
            };
            let mut cur = first.clone();
            for k in keys {
                cur = match (&cur, k) {
                    (Value::Array(a), k) => {
                        let i = int(name, k)?;
                        a.get(usize::try_from(i).map_err(|_| terr!("index {i} out of range"))?)
                            .cloned()
                            .ok_or_else(|| terr!("index {i} out of range"))?
                    }
                    (Value::Object(o), k) => o.get(&print(k)).cloned().unwrap_or(Value::Null),
                    (Value::Null, _) => Value::Null,
                    (other, _) => bail!("can't index item of type {}", type_name(other)),
                };
            }
            cur
        }
        "eq" => {
            if args.len() < 2 {
                bail!("eq: missing argument");
            }
            Value::from(args[1..].iter().any(|b| same(&args[0], b)))
        }
        "ne" => {
            want(name, args, 2)?;
            Value::from(!same(&args[0], &args[1]))
        }
        "lt" | "le" | "gt" | "ge" => {
            want(name, args, 2)?;
            let o = order(&args[0], &args[1])?;
            Value::from(match name {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        "and" => args
            .iter()
            .find(|v| !truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|v| truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "not" => {
            want(name, args, 1)?;
            Value::from(!truthy(&args[0]))
        }
        _ => bail!("function {name:?} not defined"),
    })
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
fn go_print(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&print(a));
    }
    out
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y))
            .ok_or_else(|| terr!("incomparable numbers")),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => bail!(
            "incompatible types for comparison: {} and {}",
            type_name(a),
            type_name(b)
        ),
    }
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %q %x %X %f
/// %t %%`, with flags `-`/`0`, width and precision.
pub fn printf(f: &str, args: &[Value]) -> Result<String> {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    let mut next = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero) = (false, false);
        while let Some(&fl) = it.peek() {
            match fl {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            it.next();
        }
        let mut width = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            it.next();
        }
        let mut prec: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(a) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let text = match verb {
            's' | 'v' => {
                let t = print(a);
                match prec {
                    Some(p) if verb == 's' => t.chars().take(p).collect(),
                    _ => t,
                }
            }
            'd' => int("printf", a)?.to_string(),
            'q' => serde_json::to_string(&print(a))?,
            'x' => hex(a, false)?,
            'X' => hex(a, true)?,
            't' => print(a),
            'f' | 'F' | 'e' | 'g' => {
                let n = a
                    .as_f64()
                    .ok_or_else(|| terr!("printf %{verb}: {} is not a number", print(a)))?;
                match verb {
                    'e' => format!("{n:.*e}", prec.unwrap_or(6)),
                    'g' => n.to_string(),
                    _ => format!("{n:.*}", prec.unwrap_or(6)),
                }
            }
            other => format!("%!{other}({})", print(a)),
        };
        let w: usize = width.parse().unwrap_or(0);
        let pad = w.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else if zero && matches!(verb, 'd' | 'f' | 'x' | 'X') {
            out.push_str(&"0".repeat(pad));
            out.push_str(&text);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", type_name(a), print(a)))
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    Ok(out)
}

fn hex(a: &Value, upper: bool) -> Result<String> {
    let h = match a {
        Value::String(s) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        _ => format!("{:x}", int("printf", a)?),
    };
    Ok(if upper { h.to_uppercase() } else { h })
}
