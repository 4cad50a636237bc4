//! `cv system check [--repair]` and `cv system restart-policy` (the boot
//! step): printing only, the engine's `check` and
//! `apply_restart_policies` do the work.

use super::Context;

pub fn check(ctx: &Context, repair: bool) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let found = e.check(repair)?;
    let mut left = 0;
    for f in &found {
        if f.repaired {
            println!("repaired: {}", f.what);
        } else {
            println!("found: {}", f.what);
            left += 1;
        }
    }
    if found.is_empty() {
        println!("consistent");
    }
    if left > 0 {
        eprintln!(
            "{left} problem(s) left{}",
            if repair {
                ""
            } else {
                " (run `cv system check --repair`)"
            }
        );
        std::process::exit(1);
    }
    Ok(())
}

pub fn restart_policy(ctx: &Context) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let mut failed = 0;
    for s in e.apply_restart_policies()? {
        match s.result {
            Ok(()) => println!("{}", s.name),
            Err(err) => {
                eprintln!("Error: {}: {err}", s.name);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
