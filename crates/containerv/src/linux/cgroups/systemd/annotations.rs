//! `org.systemd.property.NAME` annotations as extra unit properties, read
//! the way runc reads them (libcontainer/specconv): NAME is letters only
//! (three or more), the value is GVariant text (`uint64 123456789`,
//! `'inactive-or-failed'`, `true`, `@as ['a', 'b']`), and a NAME ending in
//! a lowercase letter + `Sec` (`TimeoutStopSec`, as systemd documents it)
//! becomes `...USec` with the seconds turned into microseconds (the bus
//! name systemd takes). They go after the resource properties, so they
//! can set or override any property; systemd refuses what it does not
//! know, naming the property.
//!
//! Only the GVariant text that unit properties use is read: typed and
//! untyped numbers, booleans, strings, and arrays of those; anything else
//! is refused with the annotation named.

use std::collections::HashMap;

use zbus::zvariant::{ObjectPath, Value};

use super::props::Prop;
use crate::error::{Error, Result};

const PREFIX: &str = "org.systemd.property.";

/// The unit properties the annotations ask for, sorted by annotation key
/// (a map has no order; runc's is Go's random map order).
pub(crate) fn properties(annotations: Option<&HashMap<String, String>>) -> Result<Vec<Prop>> {
    let Some(a) = annotations else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<&String> = a.keys().filter(|k| k.starts_with(PREFIX)).collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let value = &a[key];
        let bad = |why: String| Error::option("annotations", format!("{key}={value}"), why);
        let name = &key[PREFIX.len()..];
        if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad(format!(
                "systemd property name {name:?} must be three or more ASCII letters"
            )));
        }
        let parsed = parse(value).map_err(|e| bad(format!("not GVariant text: {e}")))?;
        let b = name.as_bytes();
        if b.len() > 3 && name.ends_with("Sec") && b[b.len() - 4].is_ascii_lowercase() {
            let usec = seconds_to_usec(&parsed).map_err(bad)?;
            out.push((format!("{}USec", &name[..name.len() - 3]), Value::U64(usec)));
        } else {
            out.push((name.to_string(), parsed));
        }
    }
    Ok(out)
}

fn seconds_to_usec(v: &Value<'_>) -> std::result::Result<u64, String> {
    const M: u64 = 1_000_000;
    let neg = || "a negative number of seconds".to_string();
    Ok(match v {
        Value::U8(n) => u64::from(*n) * M,
        Value::I16(n) => u64::try_from(*n).map_err(|_| neg())? * M,
        Value::U16(n) => u64::from(*n) * M,
        Value::I32(n) => u64::try_from(*n).map_err(|_| neg())? * M,
        Value::U32(n) => u64::from(*n) * M,
        Value::I64(n) => u64::try_from(*n).map_err(|_| neg())?.saturating_mul(M),
        Value::U64(n) => n.saturating_mul(M),
        Value::F64(d) if *d >= 0.0 => (*d * M as f64) as u64,
        _ => return Err("a property ending in Sec takes a number of seconds".into()),
    })
}

/// A GVariant text value, before its type is settled.
#[derive(Debug, Clone, PartialEq)]
enum G {
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Array(Vec<G>),
}

/// Parses GVariant text into a D-Bus value.
pub(crate) fn parse(text: &str) -> std::result::Result<Value<'static>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let (ty, g) = p.typed_value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected {:?}", &text[p.i..]));
    }
    let ty = ty.unwrap_or_else(|| default_type(&g));
    convert(&g, &ty)
}

fn default_type(g: &G) -> String {
    match g {
        G::Bool(_) => "b".into(),
        G::Int(_) => "i".into(),
        G::Float(_) => "d".into(),
        G::Str(_) => "s".into(),
        G::Array(v) => format!("a{}", v.first().map(default_type).unwrap_or("s".into())),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// GVariant's type keywords and the type each names.
const KEYWORDS: &[(&str, &str)] = &[
    ("boolean", "b"),
    ("byte", "y"),
    ("int16", "n"),
    ("uint16", "q"),
    ("int32", "i"),
    ("uint32", "u"),
    ("int64", "x"),
    ("uint64", "t"),
    ("double", "d"),
    ("string", "s"),
    ("objectpath", "o"),
];

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"_.+-".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    /// An optional type (`uint64 `, `@at `) and a value.
    fn typed_value(&mut self) -> std::result::Result<(Option<String>, G), String> {
        self.ws();
        if self.s.get(self.i) == Some(&b'@') {
            self.i += 1;
            let start = self.i;
            while self.i < self.s.len() && !self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            let ty = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
            return Ok((Some(ty), self.value()?));
        }
        let save = self.i;
        let w = self.word().to_string();
        if let Some((_, ty)) = KEYWORDS.iter().find(|(k, _)| *k == w) {
            return Ok((Some(ty.to_string()), self.value()?));
        }
        self.i = save;
        Ok((None, self.value()?))
    }

    fn value(&mut self) -> std::result::Result<G, String> {
        self.ws();
        match self.s.get(self.i).copied() {
            None => Err("a value is missing".into()),
            Some(b'\'' | b'"') => self.string(),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(G::Array(items));
                    }
                    if !items.is_empty() {
                        if self.s.get(self.i) != Some(&b',') {
                            return Err("expected ',' or ']' in an array".into());
                        }
                        self.i += 1;
                    }
                    items.push(self.value()?);
                }
            }
            Some(_) => {
                let w = self.word().to_string();
                match w.as_str() {
                    "true" => Ok(G::Bool(true)),
                    "false" => Ok(G::Bool(false)),
                    "" => Err(format!(
                        "unexpected {:?}",
                        String::from_utf8_lossy(&self.s[self.i..])
                    )),
                    _ => number(&w),
                }
            }
        }
    }

    fn string(&mut self) -> std::result::Result<G, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                _ if c == quote => {
                    return String::from_utf8(out)
                        .map(G::Str)
                        .map_err(|_| "a string is not UTF-8".into())
                }
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("a string ends in '\\'")?;
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                }
                _ => out.push(c),
            }
        }
        Err("a string is not closed".into())
    }
}

fn number(w: &str) -> std::result::Result<G, String> {
    let (neg, digits) = match w.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, w.strip_prefix('+').unwrap_or(w)),
    };
    let int = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok(),
        None => digits.parse::<i128>().ok(),
    };
    match int {
        Some(n) => Ok(G::Int(if neg { -n } else { n })),
        None => w
            .parse::<f64>()
            .map(G::Float)
            .map_err(|_| format!("{w:?} is not a value")),
    }
}

fn convert(g: &G, ty: &str) -> std::result::Result<Value<'static>, String> {
    fn int<T: TryFrom<i128>>(g: &G, name: &str) -> std::result::Result<T, String> {
        match g {
            G::Int(n) => T::try_from(*n).map_err(|_| format!("{n} does not fit in {name}")),
            other => Err(format!("{other:?} is not a {name}")),
        }
    }
    let v = match ty {
        "b" => match g {
            G::Bool(b) => Value::Bool(*b),
            other => return Err(format!("{other:?} is not a boolean")),
        },
        "y" => Value::U8(int(g, "byte")?),
        "n" => Value::I16(int(g, "int16")?),
        "q" => Value::U16(int(g, "uint16")?),
        "i" => Value::I32(int(g, "int32")?),
        "u" => Value::U32(int(g, "uint32")?),
        "x" => Value::I64(int(g, "int64")?),
        "t" => Value::U64(int(g, "uint64")?),
        "d" => match g {
            G::Float(f) => Value::F64(*f),
            G::Int(n) => Value::F64(*n as f64),
            other => return Err(format!("{other:?} is not a double")),
        },
        "s" => match g {
            G::Str(s) => Value::from(s.clone()),
            other => return Err(format!("{other:?} is not a string")),
        },
        "o" => match g {
            G::Str(s) => Value::ObjectPath(
                ObjectPath::try_from(s.clone()).map_err(|e| format!("{s:?}: {e}"))?,
            ),
            other => return Err(format!("{other:?} is not an object path")),
        },
        _ => match (ty.strip_prefix('a'), g) {
            (Some(elem), G::Array(items)) => array(elem, items)?,
            _ => return Err(format!("type {ty:?} is not supported here")),
        },
    };
    Ok(v)
}

fn array(elem: &str, items: &[G]) -> std::result::Result<Value<'static>, String> {
    fn all<T>(
        items: &[G],
        f: impl Fn(Value<'static>) -> Option<T>,
        elem: &str,
    ) -> std::result::Result<Vec<T>, String> {
        items
            .iter()
            .map(|g| convert(g, elem).and_then(|v| f(v).ok_or_else(|| "mixed array".to_string())))
            .collect()
    }
    Ok(match elem {
        "b" => Value::from(all(
            items,
            |v| {
                if let Value::Bool(b) = v {
                    Some(b)
                } else {
                    None
                }
            },
            elem,
        )?),
        "y" => Value::from(all(
            items,
            |v| if let Value::U8(n) = v { Some(n) } else { None },
            elem,
        )?),
        "n" => Value::from(all(
            items,
            |v| if let Value::I16(n) = v { Some(n) } else { None },
            elem,
        )?),
        "q" => Value::from(all(
            items,
            |v| if let Value::U16(n) = v { Some(n) } else { None },
            elem,
        )?),
        "i" => Value::from(all(
            items,
            |v| if let Value::I32(n) = v { Some(n) } else { None },
            elem,
        )?),
        "u" => Value::from(all(
            items,
            |v| if let Value::U32(n) = v { Some(n) } else { None },
            elem,
        )?),
        "x" => Value::from(all(
            items,
            |v| if let Value::I64(n) = v { Some(n) } else { None },
            elem,
        )?),
        "t" => Value::from(all(
            items,
            |v| if let Value::U64(n) = v { Some(n) } else { None },
            elem,
        )?),
        "d" => Value::from(all(
            items,
            |v| if let Value::F64(n) = v { Some(n) } else { None },
            elem,
        )?),
        "s" => Value::from(all(
            items,
            |v| match v {
                Value::Str(s) => Some(s.to_string()),
                _ => None,
            },
            elem,
        )?),
        _ => return Err(format!("arrays of {elem:?} are not supported here")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> Result<Vec<Prop>> {
        let m: HashMap<String, String> = kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        properties(Some(&m))
    }

    #[test]
    fn runc_examples() {
        let p = props(&[
            ("org.systemd.property.TimeoutStopUSec", "uint64 123456789"),
            ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
            ("org.other", "ignored"),
        ])
        .unwrap();
        assert_eq!(
            p,
            vec![
                ("CollectMode".to_string(), Value::from("inactive-or-failed")),
                ("TimeoutStopUSec".to_string(), Value::U64(123456789)),
            ]
        );
    }

    #[test]
    fn sec_becomes_usec() {
        let p = props(&[("org.systemd.property.TimeoutStopSec", "5")]).unwrap();
        assert_eq!(
            p,
            vec![("TimeoutStopUSec".to_string(), Value::U64(5_000_000))]
        );
        let p = props(&[("org.systemd.property.RuntimeMaxSec", "@d 1.5")]).unwrap();
        assert_eq!(
            p,
            vec![("RuntimeMaxUSec".to_string(), Value::U64(1_500_000))]
        );
        assert!(props(&[("org.systemd.property.TimeoutStopSec", "'x'")]).is_err());
    }

    #[test]
    fn values() {
        assert_eq!(parse("true").unwrap(), Value::Bool(true));
        assert_eq!(parse("42").unwrap(), Value::I32(42));
        assert_eq!(parse(" uint32 0x10 ").unwrap(), Value::U32(16));
        assert_eq!(parse("int64 -3").unwrap(), Value::I64(-3));
        assert_eq!(parse("\"a\\'b\"").unwrap(), Value::from("a'b"));
        assert_eq!(
            parse("['a', 'b']").unwrap(),
            Value::from(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(parse("@at [1, 2]").unwrap(), Value::from(vec![1u64, 2]));
        assert_eq!(parse("@as []").unwrap(), Value::from(Vec::<String>::new()));
        for bad in [
            "",
            "'open",
            "uint64 -1",
            "byte 300",
            "[1, 'a']",
            "1 2",
            "@a{sv} {}",
            "<1>",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_refused() {
        for name in ["ab", "Timeout_Stop", "CPU2"] {
            let e = props(&[(&format!("org.systemd.property.{name}"), "1")])
                .unwrap_err()
                .to_string();
            assert!(e.contains("annotations") && e.contains(name), "{e}");
        }
        let e = props(&[("org.systemd.property.CollectMode", "'unclosed")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("org.systemd.property.CollectMode"), "{e}");
    }
}
