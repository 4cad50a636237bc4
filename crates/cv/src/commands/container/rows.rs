//! Row output shared by `cv ps`, `cv stats` and `cv inspect`: docker's
//! `--format` (`json`, a `{{.Field}}` template, `table TEMPLATE`) over
//! rows that are JSON objects with docker's keys, or the default table.

use serde_json::Value;

use crate::output::{is_json, table};

/// Prints `rows` as `--format` asks: one JSON object a line (`json`), the
/// template once a row (a leading `table ` is dropped), or with no format
/// a table of `columns`, each (key in the row, header).
pub fn print_rows(rows: &[Value], format: &Option<String>, columns: &[(&str, &str)]) {
    match format {
        f if is_json(f) => {
            for r in rows {
                println!("{r}");
            }
        }
        Some(t) => {
            let t = t.strip_prefix("table ").unwrap_or(t);
            for r in rows {
                println!("{}", template(t, r));
            }
        }
        None => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .map(|(k, _)| r[*k].as_str().unwrap_or("").to_string())
                        .collect()
                })
                .collect();
            let header: Vec<&str> = columns.iter().map(|(_, h)| *h).collect();
            table(&header, &cells);
        }
    }
}

/// Expands `{{.Field}}` (and `{{json .}}`) against a JSON object.
pub fn template(t: &str, v: &Value) -> String {
    let mut out = String::new();
    let mut rest = t;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let expr = rest[i + 2..i + j].trim();
        if expr == "json ." {
            out.push_str(&v.to_string());
        } else {
            let (json, path) = match expr.strip_prefix("json ") {
                Some(p) => (true, p.trim()),
                None => (false, expr),
            };
            let mut cur = v;
            for part in path
                .trim_start_matches('.')
                .split('.')
                .filter(|p| !p.is_empty())
            {
                cur = cur.get(part).unwrap_or(&Value::Null);
            }
            match cur {
                Value::String(s) if !json => out.push_str(s),
                Value::Null if !json => out.push_str("<no value>"),
                other => out.push_str(&other.to_string()),
            }
        }
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    out.replace("\\t", "\t").replace("\\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_expand_fields_json_and_escapes() {
        let v = json!({"ID": "abc", "N": 3, "S": {"A": "x"}});
        assert_eq!(template("{{.ID}}\\t{{.N}}", &v), "abc\t3");
        assert_eq!(template("{{ .S.A }}|{{.Nope}}", &v), "x|<no value>");
        assert_eq!(template("{{json .S}}", &v), r#"{"A":"x"}"#);
        assert_eq!(template("{{json .}}", &v), v.to_string());
        assert_eq!(template("open {{.ID", &v), "open {{.ID");
    }
}
