//! Runs a parsed template over a JSON value: the data behind `--format`
//! (docker's keys and values, see the callers), dot and `$` as Go's
//! `text/template` has them, variables scoped to their block.

use super::Result;
use serde_json::Value;

use super::funcs;
use super::parse::{Arg, List, Node, Pipeline};

/// Variables in scope (`$` is the data), innermost last.
pub struct State {
    vars: Vec<(String, Value)>,
    /// Fields whose objects are Go maps (see [`walk`]).
    maps: &'static [&'static str],
}

impl State {
    pub fn new(root: &Value, maps: &'static [&'static str]) -> Self {
        State {
            vars: vec![("$".into(), root.clone())],
            maps,
        }
    }

    pub fn list(&mut self, list: &List, dot: &Value, out: &mut String) -> Result<()> {
        let mark = self.vars.len();
        let r = self.list_inner(list, dot, out);
        self.vars.truncate(mark);
        r
    }

    fn list_inner(&mut self, list: &List, dot: &Value, out: &mut String) -> Result<()> {
        for node in list {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p, dot)?;
                    if p.decl.is_empty() {
                        out.push_str(&funcs::print(&v));
                    } else {
                        // `$x := v` and `$x = v` alike: the newest wins.
                        for name in &p.decl {
                            self.vars.push((name.clone(), v.clone()));
                        }
                    }
                }
                Node::If(p, yes, no) => {
                    let v = self.pipeline(p, dot)?;
                    self.list(if funcs::truthy(&v) { yes } else { no }, dot, out)?;
                }
                Node::With(p, yes, no) => {
                    let v = self.pipeline(p, dot)?;
                    if funcs::truthy(&v) {
                        self.list(yes, &v, out)?;
                    } else {
                        self.list(no, dot, out)?;
                    }
                }
                Node::Range(p, body, empty) => {
                    let v = self.value_of(p, dot)?;
                    let items: Vec<(Value, Value)> = match &v {
                        Value::Array(a) => a
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Value::from(i), x.clone()))
                            .collect(),
                        Value::Object(o) => {
                            let mut keys: Vec<&String> = o.keys().collect();
                            keys.sort();
                            keys.into_iter()
                                .map(|k| (Value::from(k.clone()), o[k].clone()))
                                .collect()
                        }
                        Value::Number(n) if n.as_u64().is_some() => (0..n.as_u64().unwrap_or(0))
                            .map(|i| (Value::from(i), Value::from(i)))
                            .collect(),
                        Value::Null => Vec::new(),
                        other => bail!("range can't iterate over {}", funcs::print(other)),
                    };
                    if items.is_empty() {
                        self.list(empty, dot, out)?;
                    }
                    for (k, x) in items {
                        let mark = self.vars.len();
                        match p.decl.as_slice() {
                            [] => {}
                            [e] => self.vars.push((e.clone(), x.clone())),
                            [kn, en, ..] => {
                                self.vars.push((kn.clone(), k));
                                self.vars.push((en.clone(), x.clone()));
                            }
                        }
                        let r = self.list(body, &x, out);
                        self.vars.truncate(mark);
                        r?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A pipeline's value, ignoring its declarations (range's `$k, $v`).
    fn value_of(&mut self, p: &Pipeline, dot: &Value) -> Result<Value> {
        let mut prev: Option<Value> = None;
        for cmd in &p.cmds {
            prev = Some(self.command(cmd, dot, prev)?);
        }
        Ok(prev.unwrap_or(Value::Null))
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &Value) -> Result<Value> {
        self.value_of(p, dot)
    }

    fn command(&mut self, cmd: &[Arg], dot: &Value, prev: Option<Value>) -> Result<Value> {
        if let Arg::Ident(name) = &cmd[0] {
            let mut args = Vec::with_capacity(cmd.len());
            for a in &cmd[1..] {
                args.push(self.arg(a, dot)?);
            }
            if let Some(p) = prev {
                args.push(p);
            }
            return funcs::call(name, &args);
        }
        if cmd.len() > 1 || prev.is_some() {
            bail!("can't give argument to non-function {:?}", cmd[0]);
        }
        self.arg(&cmd[0], dot)
    }

    fn arg(&mut self, a: &Arg, dot: &Value) -> Result<Value> {
        Ok(match a {
            Arg::Field(chain) => walk(dot, chain, self.maps)?,
            Arg::Var(name, chain) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| terr!("undefined variable: {name}"))?;
                walk(&v, chain, self.maps)?
            }
            Arg::Str(s) => Value::from(s.clone()),
            Arg::Num(n, true) if n.fract() == 0.0 && n.abs() < 9e15 => Value::from(*n as i64),
            Arg::Num(n, _) => serde_json::Number::from_f64(*n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Nil => Value::Null,
            Arg::Sub(p, chain) => {
                let v = self.pipeline(p, dot)?;
                walk(&v, chain, self.maps)?
            }
            Arg::Ident(name) => funcs::call(name, &[])?,
        })
    }
}

/// `.A.B` from `v`. A field an object does not have is an error naming it
/// (docker's "can't evaluate field" of a struct); a field of null is null,
/// and so is a key missing from an object reached through one of `maps`
/// (a Go map such as an event's `.Actor.Attributes`: `<no value>`).
fn walk(v: &Value, chain: &[String], maps: &[&str]) -> Result<Value> {
    let mut cur = v;
    for (i, f) in chain.iter().enumerate() {
        let in_map = i > 0 && maps.contains(&chain[i - 1].as_str());
        cur = match cur {
            Value::Object(o) if in_map && !o.contains_key(f) => return Ok(Value::Null),
            Value::Object(o) => o.get(f).ok_or_else(|| {
                let mut have: Vec<&str> = o.keys().map(String::as_str).collect();
                have.sort_unstable();
                terr!("can't evaluate field {f} (have: {})", have.join(", "))
            })?,
            Value::Null => return Ok(Value::Null),
            other => bail!(
                "can't evaluate field {f} in {} {}",
                funcs::type_name(other),
                funcs::print(other)
            ),
        };
    }
    Ok(cur.clone())
}
