//! `cv images [REPOSITORY[:TAG]] --filter KEY=VALUE` with docker's keys:
//! `dangling` (true/false), `reference` (a glob on `repo` or `repo:tag`,
//! `*` not crossing `/`), `label` (`KEY` or `KEY=VALUE`), `before` and
//! `since` (created before / after the named image). Several values of a
//! key match any; different keys must all match.

use anyhow::{bail, Context as _};
use containerv_image::{ImageStore, ImageSummary};

const KEYS: [&str; 5] = ["dangling", "reference", "label", "before", "since"];

pub struct ImageFilters {
    pairs: Vec<(String, String)>,
    /// `before`/`since` resolved to the named images' creation times.
    before: Vec<String>,
    since: Vec<String>,
}

impl ImageFilters {
    /// Parses the flags (and the positional REPOSITORY[:TAG], docker's
    /// shorthand for a reference filter).
    pub fn parse(
        store: &ImageStore,
        args: &[String],
        reference: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut pairs = Vec::new();
        let (mut before, mut since) = (Vec::new(), Vec::new());
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                bail!("invalid --filter {a:?}: expected KEY=VALUE");
            };
            if !KEYS.contains(&k) {
                bail!(
                    "invalid --filter {a:?}: unknown key {k:?} (use {})",
                    KEYS.join(", ")
                );
            }
            match k {
                "dangling" if !["true", "false", "1", "0"].contains(&v) => {
                    bail!("invalid --filter {a:?}: dangling is true or false")
                }
                "before" | "since" => {
                    let created = store
                        .inspect(v)
                        .with_context(|| format!("invalid --filter {a:?}"))?
                        .created;
                    if k == "before" {
                        before.push(created);
                    } else {
                        since.push(created);
                    }
                    continue;
                }
                _ => {}
            }
            pairs.push((k.to_string(), v.to_string()));
        }
        if let Some(r) = reference {
            pairs.push(("reference".into(), r.to_string()));
        }
        Ok(ImageFilters {
            pairs,
            before,
            since,
        })
    }

    pub fn matches(&self, store: &ImageStore, r: &ImageSummary) -> bool {
        let ok = |key: &str, f: &dyn Fn(&str) -> bool| {
            let mut vs = self.pairs.iter().filter(|(k, _)| k == key).peekable();
            vs.peek().is_none() || vs.any(|(_, v)| f(v))
        };
        let dangling = r.repository == "<none>";
        let labels = || {
            store
                .inspect(&r.id)
                .ok()
                .and_then(|d| d.config.labels)
                .unwrap_or_default()
        };
        // RFC 3339 times in UTC compare as strings.
        self.before.iter().all(|t| r.created < *t)
            && self.since.iter().all(|t| r.created > *t)
            && ok("dangling", &|v| (v == "true" || v == "1") == dangling)
            && ok("reference", &|v| {
                !dangling
                    && (glob(v, &r.repository) || glob(v, &format!("{}:{}", r.repository, r.tag)))
            })
            && ok("label", &|v| {
                let l = labels();
                match v.split_once('=') {
                    Some((k, val)) => l.get(k).is_some_and(|x| x == val),
                    None => l.contains_key(v),
                }
            })
    }
}

/// Shell-style match: `*` any run of characters but `/`, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => t.first().is_some_and(|&c| c != b'/') && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*/app", "localhost/app"));
        assert!(!glob("*", "localhost/app"));
        assert!(glob("localhost/app:?", "localhost/app:1"));
        assert!(!glob("app", "localhost/app"));
    }
}
