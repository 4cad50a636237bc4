//! The engine against docker's documented `--format` examples
//! (docs.docker.com "Format command and log output", `docker inspect`,
//! `docker ps`), on data shaped like `cv`'s.

use serde_json::{json, Value};

use super::{render, Template};

fn container() -> Value {
    json!({
        "Id": "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2",
        "Name": "/web",
        "Args": ["-c", "sleep 1000"],
        "RestartCount": 2,
        "State": {"Status": "running", "Running": true, "ExitCode": 0, "Health": null},
        "HostConfig": {"Memory": 268435456_u64, "NanoCpus": 500000000_u64, "Init": false},
        "Config": {"Image": "docker.io/library/ubuntu:latest", "Env": ["A=1", "B=2"],
                   "Labels": {"com.example.vendor": "ACME", "version": "1.0"}},
        "Mounts": [{"Source": "/data", "Destination": "/d"}, {"Source": "/logs", "Destination": "/l"}],
        "NetworkSettings": {
            "Networks": {"bridge": {"IPAddress": "172.17.0.2"}, "other": {"IPAddress": "10.0.0.5"}},
            "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
        }
    })
}

fn r(t: &str) -> String {
    render(t, &container()).unwrap_or_else(|e| panic!("{t}: {e}"))
}

#[test]
fn docker_inspect_examples() {
    assert_eq!(r("{{.Name}}"), "/web");
    assert_eq!(
        r("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"),
        "172.17.0.210.0.0.5"
    );
    assert_eq!(
        r("{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}"),
        " 80/tcp -> 8080 "
    );
    assert_eq!(r("{{json .Config.Env}}"), r#"["A=1","B=2"]"#);
    assert_eq!(r("{{index .Config.Labels \"com.example.vendor\"}}"), "ACME");
    assert_eq!(
        r("{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}"),
        "268435456 500000000"
    );
    assert_eq!(r("{{json .State.Health}}"), "null");
    let health: Value = serde_json::from_str(&r("{{json .State.Health}}")).unwrap();
    assert!(health.is_null());
}

#[test]
fn docker_format_functions() {
    // docs.docker.com/engine/cli/formatting/
    assert_eq!(r("{{join .Args \" , \"}}"), "-c , sleep 1000");
    assert_eq!(
        r("{{json .Mounts}}"),
        serde_json::to_string(&container()["Mounts"]).unwrap()
    );
    assert_eq!(r("{{lower \"ABC\"}} {{upper .Name}}"), "abc /WEB");
    assert_eq!(
        r("{{split .Config.Image \":\"}}"),
        "[docker.io/library/ubuntu latest]"
    );
    assert_eq!(r("{{title \"hello world-wide\"}}"), "Hello World-Wide");
    assert_eq!(r("{{pad .Name 5 2}}|"), "     /web  |");
    assert_eq!(r("{{truncate .Id 12}}"), "4fa6e0f0c678");
    assert_eq!(r("{{println .Name}}"), "/web\n");
    assert_eq!(
        r("{{range .Mounts}}{{println .Source}}{{end}}"),
        "/data\n/logs\n"
    );
}

#[test]
fn control_flow_and_printf() {
    assert_eq!(r("{{if .State.Running}}up{{else}}down{{end}}"), "up");
    assert_eq!(
        r("{{if eq .State.Status \"exited\"}}x{{else if eq .State.Status \"running\"}}r{{else}}?{{end}}"),
        "r"
    );
    assert_eq!(r("{{if not .HostConfig.Init}}no init{{end}}"), "no init");
    assert_eq!(
        r("{{with .Config}}{{.Image}}{{end}}"),
        "docker.io/library/ubuntu:latest"
    );
    assert_eq!(r("{{range .State.Health}}x{{else}}empty{{end}}"), "empty");
    assert_eq!(r("{{printf \"%s-%d\" .Name .RestartCount}}"), "/web-2");
    assert_eq!(
        r("{{printf \"%-6s|%5.1f|%03d\" \"ab\" 2.25 7}}"),
        "ab    |  2.2|007"
    );
    assert_eq!(r("{{.Name | printf \"%q\"}}"), "\"/web\"");
    assert_eq!(r("{{len .Mounts}} {{gt (len .Mounts) 1}}"), "2 true");
    assert_eq!(
        r("{{$n := .Name}}{{range .Args}}{{$n}}:{{.}} {{end}}"),
        "/web:-c /web:sleep 1000 "
    );
    assert_eq!(
        r("{{range $i, $m := .Mounts}}{{$i}}={{$m.Destination}};{{end}}"),
        "0=/d;1=/l;"
    );
    assert_eq!(
        r("{{- /* a comment */ -}}  {{.Name}}  {{- \"!\"}}"),
        "/web!"
    );
    assert_eq!(
        r("{{.Config.Labels}}"),
        "map[com.example.vendor:ACME version:1.0]"
    );
    assert_eq!(r("{{.Args}}"), "[-c sleep 1000]");
    // docker's CLI takes a typed \t as a tab.
    assert_eq!(r("{{.Name}}\\t{{.RestartCount}}"), "/web\t2");
}

#[test]
fn errors_name_what_is_wrong() {
    let e = |t: &str| render(t, &container()).unwrap_err().to_string();
    let m = e("{{.Nope}}");
    assert!(
        m.contains("can't evaluate field Nope") && m.contains("Name"),
        "{m}"
    );
    assert!(e("{{.Name").contains("unclosed"));
    assert!(e("{{if .Name}}x").contains("without {{end}}"));
    assert!(e("{{nosuchfunc .Name}}").contains("not defined"));
    assert!(e("{{range .Name}}{{end}}").contains("can't iterate"));
    // Missing map keys through index are <no value>, as in Go.
    assert_eq!(r("{{index .Config.Labels \"absent\"}}"), "<no value>");
}

#[test]
fn keys_missing_from_a_map_field_are_no_value_and_struct_fields_stay_strict() {
    let ev = json!({"Type": "volume", "Actor": {"ID": "v", "Attributes": {"driver": "local"}}});
    let t = |src: &str| {
        Template::parse(src)
            .unwrap()
            .with_maps(&["Attributes"])
            .render(&ev)
    };
    assert_eq!(t("{{.Actor.Attributes.driver}}").unwrap(), "local");
    assert_eq!(t("{{.Actor.Attributes.name}}").unwrap(), "<no value>");
    assert!(t("{{.Actor.Nope}}").is_err());
    assert!(t("{{.nope}}").is_err());
    // Without the flag, every object is strict.
    assert!(Template::parse("{{.Actor.Attributes.name}}")
        .unwrap()
        .render(&ev)
        .is_err());
}
