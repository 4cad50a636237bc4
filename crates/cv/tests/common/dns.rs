//! Name lookups from inside a container, as the network tests make them.

use super::Cv;

/// `nslookup -type=QTYPE NAME` from container `from` (busybox): the
/// addresses answered ("Name:\tNAME\nAddress: A" after the server's own
/// lines).
pub fn lookup(cv: &Cv, from: &str, qtype: &str, name: &str) -> Vec<String> {
    let o = cv
        .cmd(&["exec", from, "nslookup", &format!("-type={qtype}"), name])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    out.split("Name:")
        .skip(1)
        .flat_map(|b| {
            b.lines()
                .filter_map(|l| l.trim().strip_prefix("Address:"))
                .map(|a| a.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}
