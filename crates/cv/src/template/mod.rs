//! The one Go-template engine behind every `--format` of `cv` (containers,
//! images, volumes, networks, inspect): Go's `text/template` language —
//! fields, variables, pipelines, `if`/`else if`/`else`, `range` (with
//! `$k, $v :=`), `with`, parentheses, comments, `{{-`/`-}}` — over the JSON
//! objects that carry docker's keys and values, with docker's functions
//! (`json`, `join`, `split`, `lower`, `upper`, `title`, `truncate`, `pad`)
//! and Go's (`printf`, `println`, `index`, `len`, `eq`...). Written here
//! rather than taken from a crate: the data is `serde_json::Value`, and
//! docker's printing rules (`<no value>`, `[a b]`, `map[k:v]`) are a few
//! lines. `\t` and `\n` written as two characters are a tab and a newline,
//! as docker's CLI takes them. A field an object lacks is an error naming
//! it (docker's "can't evaluate field"); `index` of a missing map key, or a
//! field of null, is `<no value>`.

mod exec;
mod funcs;
mod parse;
#[cfg(test)]
mod tests;

use anyhow::Result;
use serde_json::Value;

/// A parsed `--format` template.
pub struct Template {
    src: String,
    list: parse::List,
}

impl Template {
    /// Parses `src`; errors name the template.
    pub fn parse(src: &str) -> Result<Template> {
        let text = src.replace("\\t", "\t").replace("\\n", "\n");
        let list = parse::parse(&text).map_err(|e| anyhow::anyhow!("--format {src:?}: {e}"))?;
        Ok(Template {
            src: src.to_string(),
            list,
        })
    }

    /// The template applied to `v`.
    pub fn render(&self, v: &Value) -> Result<String> {
        let mut out = String::new();
        exec::State::new(v)
            .list(&self.list, v, &mut out)
            .map_err(|e| anyhow::anyhow!("--format {:?}: {e}", self.src))?;
        Ok(out)
    }
}

/// Parses and applies `src` to `v` once.
pub fn render(src: &str, v: &Value) -> Result<String> {
    Template::parse(src)?.render(v)
}
