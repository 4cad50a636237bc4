//! Row output shared by `cv ps`, `cv stats` and `cv inspect`: docker's
//! `--format` (`json`, a `{{.Field}}` template, `table TEMPLATE`) over
//! rows that are JSON objects with docker's keys, or the default table.

use serde_json::Value;

use crate::output::{is_json, table};
use crate::template::Template;

/// Prints `rows` as `--format` asks: one JSON object a line (`json`), the
/// template once a row (`table TEMPLATE` first prints a header: the
/// template applied to each key's column header, as docker does), or with
/// no format a table of `columns`, each (key in the row, header).
pub fn print_rows(
    rows: &[Value],
    format: &Option<String>,
    columns: &[(&str, &str)],
) -> anyhow::Result<()> {
    match format {
        f if is_json(f) => {
            for r in rows {
                println!("{r}");
            }
        }
        Some(t) => {
            let (table, body) = match t.trim_start().strip_prefix("table") {
                Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                    (true, rest.trim_start())
                }
                _ => (false, t.as_str()),
            };
            if table && body.is_empty() {
                return print_rows(rows, &None, columns);
            }
            let tmpl = Template::parse(body)?;
            if table {
                if let Some(first) = rows.first().and_then(Value::as_object) {
                    let names: serde_json::Map<String, Value> = first
                        .keys()
                        .map(|k| {
                            let h = columns
                                .iter()
                                .find(|(c, _)| c == k)
                                .map_or_else(|| k.to_ascii_uppercase(), |(_, h)| h.to_string());
                            (k.clone(), Value::from(h))
                        })
                        .collect();
                    println!("{}", tmpl.render(&Value::Object(names))?);
                }
            }
            for r in rows {
                println!("{}", tmpl.render(r)?);
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
    Ok(())
}

/// `t` applied to `v` (the one engine: [`crate::template`]).
pub fn template(t: &str, v: &Value) -> anyhow::Result<String> {
    Ok(crate::template::render(t, v)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_expand_fields_json_and_escapes() {
        let v = json!({"ID": "abc", "N": 3, "S": {"A": "x"}});
        let t = |s: &str| template(s, &v).unwrap();
        assert_eq!(t("{{.ID}}\\t{{.N}}"), "abc\t3");
        assert_eq!(t("{{ .S.A }}"), "x");
        assert_eq!(t("{{json .S}}"), r#"{"A":"x"}"#);
        assert_eq!(t("{{json .}}"), v.to_string());
        assert!(template("{{.Nope}}", &v).is_err());
        assert!(template("open {{.ID", &v).is_err());
    }
}
