//! The one Go-template engine behind every `--format` of `cv` (containers,
//! images, volumes, networks, inspect): Go's `text/template` language —
//! fields, variables, pipelines, `if`/`else if`/`else`, `range` (with
//! `$k, $v :=`), `with`, parentheses, comments, `{{-`/`-}}` — over the JSON
//! objects that carry docker's keys and values, with docker's functions
//! (`json`, `join`, `split`, `lower`, `upper`, `title`, `truncate`, `pad`)
//! and Go's (`printf`, `println`, `index`, `len`, `eq`...). Written here
//! rather than taken from a crate: the data is `serde_json::Value`, and
//! docker's printing rules (`<no value>`, `[a b]`, `map[k:v]`) are a few
//! lines. It lives in the engine (not in `cv`) because the monitor renders
//! `--log-opt tag={{.Name}}/{{.ID}}` with it too. `\t` and `\n` written as two characters are a tab and a newline,
//! as docker's CLI takes them. A field an object lacks is an error naming
//! it (docker's "can't evaluate field"); `index` of a missing map key, or a
//! field of null, is `<no value>`.

/// A template that does not parse or cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl From<serde_json::Error> for TemplateError {
    fn from(e: serde_json::Error) -> Self {
        TemplateError(e.to_string())
    }
}

/// The template engine's result.
pub type Result<T> = std::result::Result<T, TemplateError>;

macro_rules! terr {
    ($($t:tt)*) => { $crate::template::TemplateError(format!($($t)*)) };
}
macro_rules! bail {
    ($($t:tt)*) => { return Err($crate::template::terr!($($t)*)) };
}
pub(crate) use terr;

mod exec;
mod funcs;
mod parse;
#[cfg(test)]
mod tests;

use serde_json::Value;

/// A parsed `--format` template.
pub struct Template {
    option: String,
    src: String,
    list: parse::List,
    maps: &'static [&'static str],
}

impl Template {
    /// Parses a `--format` `src`; errors name the template.
    pub fn parse(src: &str) -> Result<Template> {
        Self::parse_for("--format", src)
    }

    /// Parses `src` given to `option` (errors name both).
    pub fn parse_for(option: &str, src: &str) -> Result<Template> {
        let text = src.replace("\\t", "\t").replace("\\n", "\n");
        let list = parse::parse(&text).map_err(|e| terr!("{option} {src:?}: {e}"))?;
        Ok(Template {
            option: option.to_string(),
            src: src.to_string(),
            list,
            maps: &[],
        })
    }

    /// Objects reached through these field names are Go maps: a key
    /// they lack is `<no value>`, not an error (docker's
    /// `{{.Actor.Attributes.name}}` over events of every type).
    pub fn with_maps(mut self, fields: &'static [&'static str]) -> Self {
        self.maps = fields;
        self
    }

    /// The template applied to `v`.
    pub fn render(&self, v: &Value) -> Result<String> {
        let mut out = String::new();
        exec::State::new(v, self.maps)
            .list(&self.list, v, &mut out)
            .map_err(|e| terr!("{} {:?}: {e}", self.option, self.src))?;
        Ok(out)
    }
}

/// Parses and applies `src` to `v` once.
pub fn render(src: &str, v: &Value) -> Result<String> {
    Template::parse(src)?.render(v)
}
