//! The cgroup v2 (unified) manager, and the cgroup2 helpers the hybrid
//! manager borrows (directory creation, hugetlb).
//!
//! The no-internal-processes rule: a cgroup that has processes cannot hand
//! controllers to its children. So:
//! - in every directory *this library creates* above the container's leaf,
//!   every available controller is enabled in `cgroup.subtree_control`
//!   (those directories never hold processes);
//! - the first pre-existing ancestor (the base, usually the caller's own
//!   cgroup) is never written to. If a limit needs a controller that the
//!   base did not enable for its children, `create` fails with an error
//!   naming the controller and the base, and says when the base has
//!   processes (then it cannot enable them at all; give a `cgroupsPath`
//!   under a cgroup without processes, e.g. an absolute one). Controllers
//!   only used for statistics are not required: their figures read 0.
//! - the container's processes live in its leaf, which never enables
//!   controllers for children of its own.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxResources};

use super::fs::{self, cg_err};
use super::placement::{self, Created};
use super::{CgroupManager, CgroupState, CgroupStats, Mode, Placed};
use crate::error::{Error, Result};

/// Creates `dir` (and missing parents) on a cgroup2 mount, enabling
/// controllers in the parents it creates, and checks that `needed`
/// controllers are available in `dir`.
pub(crate) fn make_dir(created: &mut Created, dir: &Path, needed: &[&str]) -> Result<()> {
    let before = created.0.len();
    let base = created.mkdir_p(dir, false)?;
    let mut buf = String::new();
    let new: Vec<PathBuf> = created.0[before..].to_vec();
    // Every created directory but the leaf gets all its controllers
    // enabled for its children.
    for d in new.iter().filter(|d| d.as_path() != dir) {
        fs::read_into(d, "cgroup.controllers", &mut buf)?;
        let ctrls: Vec<String> = buf.split_ascii_whitespace().map(str::to_string).collect();
        for c in ctrls {
            fs::write(d, "cgroup.subtree_control", &format!("+{c}"))?;
        }
    }
    fs::read_into(dir, "cgroup.controllers", &mut buf)?;
    let have: Vec<&str> = buf.split_ascii_whitespace().collect();
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|c| !have.contains(c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut procs = String::new();
    let base_busy = base != Path::new(super::mode::CGROUP_ROOT)
        && fs::read_opt(&base, "cgroup.procs", &mut procs)?
        && !procs.trim().is_empty();
    Err(cg_err(
        dir,
        format!(
            "controller(s) {} needed by the limits are not enabled in {}/cgroup.subtree_control{}",
            missing.join(", "),
            base.display(),
            if base_busy {
                " (that cgroup has processes, so by cgroup v2's no-internal-processes rule it cannot enable them: use a cgroupsPath under a cgroup without processes)"
            } else {
                " (containerv does not write to cgroups it did not create)"
            }
        ),
    ))
}

/// Controllers `r` needs on cgroup v2.
fn needed(r: &LinuxResources) -> Vec<&'static str> {
    let mut n = Vec::new();
    if let Some(m) = r.memory() {
        if m.limit().is_some() || m.reservation().is_some() || m.swap().is_some() {
            n.push("memory");
        }
    }
    if let Some(c) = r.cpu() {
        if c.shares().is_some()
            || c.quota().is_some()
            || c.period().is_some()
            || c.idle().is_some()
            || c.burst().is_some()
        {
            n.push("cpu");
        }
        if c.cpus().is_some() || c.mems().is_some() {
            n.push("cpuset");
        }
    }
    if r.pids().is_some_and(|p| p.limit() != 0) {
        n.push("pids");
    }
    if r.block_io().is_some() {
        n.push("io");
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        n.push("hugetlb");
    }
    n
}

/// Writes hugetlb limits into a cgroup2 directory.
pub(crate) fn set_hugetlb(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    for h in limits {
        fs::write(
            dir,
            &format!("hugetlb.{}.max", h.page_size()),
            &h.limit().to_string(),
        )?;
    }
    Ok(())
}

/// cgroup v1 cpu.shares (2..262144) → v2 cpu.weight (1..10000), the
/// conversion runc, crun and the kernel docs use.
pub fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// blkio weight (10..1000) → io.weight (1..10000).
pub fn blkio_to_io_weight(w: u16) -> u64 {
    1 + (u64::from(w.clamp(10, 1000)) - 10) * 9999 / 990
}

#[derive(Debug)]
pub(crate) struct V2 {
    state: CgroupState,
    /// Control files kept open for sampling (see `fs::Reader`).
    reader: Mutex<fs::Reader>,
}

impl V2 {
    pub fn create(
        id: &str,
        cgroups_path: Option<&Path>,
        resources: Option<&LinuxResources>,
    ) -> Result<V2> {
        let (_, v2) = placement::mounts()?;
        let (mount, root) = v2.ok_or_else(|| {
            Error::Unsupported("cgroups: no cgroup2 mount found in /proc/self/mountinfo".into())
        })?;
        let self_cg = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| Error::io("read", "/proc/self/cgroup", e))?;
        let own = placement::own_cgroup(&self_cg, None).unwrap_or_else(|| "/".into());
        let dir = placement::target(&mount, &root, &own, id, cgroups_path);
        let mut created = Created::default();
        let result = (|| {
            let needed = resources.map(needed).unwrap_or_default();
            make_dir(&mut created, &dir, &needed)?;
            let mgr = V2 {
                state: CgroupState {
                    systemd_unit: None,
                    mode: Some(Mode::Unified),
                    hierarchies: vec![Placed {
                        controllers: Vec::new(),
                        dir: dir.clone(),
                    }],
                    created: created.0.clone(),
                },
                reader: Mutex::new(fs::Reader::default()),
            };
            if let Some(r) = resources {
                mgr.apply(r)?;
            }
            Ok(mgr)
        })();
        if result.is_err() {
            created.undo();
        }
        result
    }

    pub fn open(state: &CgroupState) -> V2 {
        V2 {
            state: state.clone(),
            reader: Mutex::new(fs::Reader::default()),
        }
    }

    fn dir(&self) -> &Path {
        self.state
            .hierarchies
            .first()
            .map(|h| h.dir.as_path())
            .unwrap_or(Path::new("/nonexistent-cgroup"))
    }

    fn set_memory(&self, m: &LinuxMemory) -> Result<()> {
        let dir = self.dir();
        let v = |x: i64| {
            if x < 0 {
                "max".to_string()
            } else {
                x.to_string()
            }
        };
        if let Some(r) = m.reservation() {
            fs::write(dir, "memory.low", &v(r))?;
        }
        if let Some(l) = m.limit() {
            fs::write(dir, "memory.max", &v(l))?;
        }
        if let Some(s) = m.swap() {
            // OCI swap is memory+swap; v2's swap.max is swap alone.
            let swap = if s < 0 {
                "max".to_string()
            } else {
                let mut buf = String::new();
                let limit = match m.limit() {
                    Some(l) => l,
                    None => {
                        fs::read_into(dir, "memory.max", &mut buf)?;
                        buf.trim().parse::<i64>().map_err(|_| {
                            Error::option("memory.swap", s.to_string(), "needs a memory limit")
                        })?
                    }
                };
                if limit < 0 {
                    return Err(Error::option(
                        "memory.swap",
                        s.to_string(),
                        "needs a memory limit",
                    ));
                }
                (s - limit).max(0).to_string()
            };
            if !dir.join("memory.swap.max").exists() {
                return Err(Error::Unsupported(
                    "memory.swap: this kernel has no memory.swap.max (no swap accounting)".into(),
                ));
            }
            fs::write(dir, "memory.swap.max", &swap)?;
        }
        if m.swappiness().is_some() {
            return Err(Error::Unsupported(
                "memory.swappiness: cgroup v2 has no per-cgroup swappiness".into(),
            ));
        }
        if m.disable_oom_killer() == Some(true) {
            return Err(Error::Unsupported(
                "memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer".into(),
            ));
        }
        Ok(())
    }

    fn set_cpu(&self, c: &LinuxCpu) -> Result<()> {
        let dir = self.dir();
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            fs::write(dir, "cpu.weight", &shares_to_weight(s).to_string())?;
        }
        if c.quota().is_some() || c.period().is_some() {
            let mut buf = String::new();
            fs::read_into(dir, "cpu.max", &mut buf)?;
            let mut it = buf.split_ascii_whitespace();
            let cur_q = it.next().unwrap_or("max").to_string();
            let cur_p = it.next().unwrap_or("100000").to_string();
            let q = match c.quota() {
                Some(q) if q > 0 => q.to_string(),
                Some(_) => "max".into(),
                None => cur_q,
            };
            let p = c.period().map_or(cur_p, |p| p.to_string());
            fs::write(dir, "cpu.max", &format!("{q} {p}"))?;
        }
        if let Some(b) = c.burst() {
            fs::write(dir, "cpu.max.burst", &b.to_string())?;
        }
        if let Some(i) = c.idle() {
            fs::write(dir, "cpu.idle", &i.to_string())?;
        }
        if c.realtime_period().is_some() || c.realtime_runtime().is_some() {
            return Err(Error::Unsupported(
                "cpu.realtimePeriod/realtimeRuntime: cgroup v2 has no real-time CPU limits".into(),
            ));
        }
        if let Some(cpus) = c.cpus() {
            fs::write(dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = c.mems() {
            fs::write(dir, "cpuset.mems", mems)?;
        }
        Ok(())
    }

    fn set_io(&self, b: &LinuxBlockIo) -> Result<()> {
        let dir = self.dir();
        // BFQ's weight takes the v1 range as is; io.weight is 1..10000.
        let weight_file = || -> Result<(&'static str, bool)> {
            if dir.join("io.bfq.weight").exists() {
                Ok(("io.bfq.weight", false))
            } else if dir.join("io.weight").exists() {
                Ok(("io.weight", true))
            } else {
                Err(Error::Unsupported(
                    "blockIO.weight: this kernel has no io.weight or io.bfq.weight".into(),
                ))
            }
        };
        let conv = |w: u16, scale: bool| {
            if scale {
                blkio_to_io_weight(w)
            } else {
                u64::from(w)
            }
        };
        if let Some(w) = b.weight() {
            let (f, scale) = weight_file()?;
            fs::write(dir, f, &format!("default {}", conv(w, scale)))?;
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                let (f, scale) = weight_file()?;
                let v = format!("{}:{} {}", d.major(), d.minor(), conv(w, scale));
                fs::write(dir, f, &v)?;
            }
        }
        for (key, list) in [
            ("rbps", b.throttle_read_bps_device()),
            ("wbps", b.throttle_write_bps_device()),
            ("riops", b.throttle_read_iops_device()),
            ("wiops", b.throttle_write_iops_device()),
        ] {
            for d in list.iter().flatten() {
                let rate = if d.rate() == 0 {
                    "max".to_string()
                } else {
                    d.rate().to_string()
                };
                let v = format!("{}:{} {key}={rate}", d.major(), d.minor());
                fs::write(dir, "io.max", &v)?;
            }
        }
        Ok(())
    }

    fn events_frozen(&self) -> Result<bool> {
        let mut r = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(fs::keyed(r.text(self.dir(), "cgroup.events")?, "frozen") == Some(1))
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let dir = self.dir();
        fs::write(dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
        if fs::wait_until(Duration::from_secs(5), || {
            Ok(self.events_frozen()? == frozen)
        })? {
            Ok(())
        } else {
            if frozen {
                let _ = fs::write(dir, "cgroup.freeze", "0");
            }
            Err(cg_err(
                &dir.join("cgroup.events"),
                format!("frozen did not become {} within 5 s", frozen as u8),
            ))
        }
    }
}

/// Sums "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." lines of io.stat.
fn io_stat_sum(text: &str) -> [u64; 4] {
    let mut out = [0u64; 4];
    for l in text.lines() {
        for kv in l.split_ascii_whitespace().skip(1) {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let i = match k {
                "rbytes" => 0,
                "wbytes" => 1,
                "rios" => 2,
                "wios" => 3,
                _ => continue,
            };
            out[i] += v.parse::<u64>().unwrap_or(0);
        }
    }
    out
}

impl CgroupManager for V2 {
    fn state(&self) -> CgroupState {
        self.state.clone()
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        super::validate::validate(r)?;
        let dir = self.dir();
        if let Some(m) = r.memory() {
            self.set_memory(m)?;
        }
        if let Some(c) = r.cpu() {
            self.set_cpu(c)?;
        }
        if let Some(p) = r.pids() {
            if p.limit() != 0 {
                let v = if p.limit() > 0 {
                    p.limit().to_string()
                } else {
                    "max".into()
                };
                fs::write(dir, "pids.max", &v)?;
            }
        }
        if let Some(b) = r.block_io() {
            self.set_io(b)?;
        }
        set_hugetlb(dir, r.hugepage_limits().as_deref().unwrap_or_default())?;
        if let Some(d) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            super::devices_bpf::apply(dir, d)?;
        }
        for (k, v) in r.unified().iter().flatten() {
            fs::write(dir, k, v)?;
        }
        Ok(())
    }

    fn procs_fds(&self) -> Result<Vec<OwnedFd>> {
        Ok(vec![super::open_procs(self.dir())?])
    }

    fn child_join(&self) -> Result<super::ChildJoin> {
        let mut j = super::ChildJoin::default();
        j.set_v2(self.dir())?;
        Ok(j)
    }

    fn add_pid(&self, pid: i32) -> Result<()> {
        fs::write(self.dir(), "cgroup.procs", &pid.to_string())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let mut r = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(fs::parse_pids(r.fresh(self.dir(), c"cgroup.procs")?))
    }

    fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn is_frozen(&self) -> Result<bool> {
        self.events_frozen()
    }

    fn stats(&self) -> Result<CgroupStats> {
        let d = self.dir();
        let mut r = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let r = &mut *r;
        let mut s = CgroupStats::default();
        let usage = r.u64(d, "memory.current")?;
        s.memory_charged = usage;
        if let Some(t) = r.opt(d, "memory.stat")? {
            s.memory_usage = usage.saturating_sub(fs::keyed(t, "inactive_file").unwrap_or(0));
        }
        s.memory_peak = r.u64(d, "memory.peak")?;
        if let Some(t) = r.opt(d, "memory.max")? {
            s.memory_limit = t.trim().parse().ok();
        }
        if let Some(t) = r.opt(d, "memory.events")? {
            s.oom_kills = fs::keyed(t, "oom_kill").unwrap_or(0);
        }
        if let Some(t) = r.opt(d, "cpu.stat")? {
            s.cpu_time_ns = fs::keyed(t, "usage_usec").unwrap_or(0) * 1000;
            s.cpu_periods = fs::keyed(t, "nr_periods").unwrap_or(0);
            s.cpu_throttled_periods = fs::keyed(t, "nr_throttled").unwrap_or(0);
            s.cpu_throttled_ns = fs::keyed(t, "throttled_usec").unwrap_or(0) * 1000;
        }
        if let Some(t) = r.opt(d, "io.stat")? {
            [s.read_bytes, s.write_bytes, s.read_ops, s.write_ops] = io_stat_sum(t);
        }
        s.tasks = match r.opt(d, "pids.current")? {
            Some(t) => t.trim().parse().unwrap_or(0),
            None => fs::count_lines(r.fresh(d, c"cgroup.threads")?),
        };
        // No more than one task is that many processes (see v1.rs).
        s.processes = if s.tasks <= 1 {
            s.tasks
        } else {
            fs::count_lines(r.fresh(d, c"cgroup.procs")?)
        };
        Ok(s)
    }

    fn kill_all(&self) -> Result<()> {
        let dir = self.dir();
        let has_kill = dir.join("cgroup.kill").exists();
        let mut thawed = true;
        if has_kill {
            fs::write(dir, "cgroup.kill", "1")?;
        } else {
            thawed = self.freeze().is_err();
        }
        let empty = fs::wait_until(Duration::from_secs(10), || {
            let pids = self.pids()?;
            if pids.is_empty() {
                return Ok(true);
            }
            if !has_kill {
                for pid in pids {
                    // SAFETY: kill(2) has no memory effects; ESRCH is fine.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                if !thawed {
                    self.thaw()?;
                    thawed = true;
                }
            }
            Ok(false)
        })?;
        if !thawed {
            self.thaw()?;
        }
        if empty {
            Ok(())
        } else {
            Err(cg_err(dir, "processes still there 10 s after SIGKILL"))
        }
    }

    fn remove(&self) -> Result<()> {
        fs::rmdir_all(&self.state.created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }

    #[test]
    fn io_stat() {
        let t = "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=3 wios=4\n";
        assert_eq!(io_stat_sum(t), [101, 202, 4, 6]);
    }
}
