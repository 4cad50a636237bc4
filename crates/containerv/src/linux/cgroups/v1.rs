//! The cgroup v1 manager, for legacy and hybrid hosts.
//!
//! One directory per mounted v1 hierarchy (see `placement`), plus, in
//! hybrid mode, one in the cgroup2 mount: processes join it too (so the
//! whole host view is consistent) and it carries the controllers the kernel
//! left on cgroup2 (`hugetlb` on the development host).
//!
//! Block I/O weight: written to `blkio.weight`, or `blkio.bfq.weight` when
//! only BFQ offers a weight; when neither file exists the limit is refused
//! with an error naming it (never silently dropped).

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::fs::{self, cg_err};
use super::placement::{self, Created};
use super::{v2, CgroupManager, CgroupState, CgroupStats, Mode, Placed};
use crate::error::{Error, Result};

/// Memory limits at or above this mean "unlimited" in v1 files.
const V1_UNLIMITED: u64 = 1 << 62;

#[derive(Debug)]
pub(crate) struct V1 {
    state: CgroupState,
    /// Control files kept open for sampling (see `fs::Reader`).
    reader: Mutex<fs::Reader>,
}

impl V1 {
    /// Creates the container's directory in every hierarchy.
    pub fn create(
        mode: Mode,
        id: &str,
        cgroups_path: Option<&Path>,
        resources: Option<&LinuxResources>,
    ) -> Result<V1> {
        let (mounts, v2_mount) = placement::mounts()?;
        if mounts.is_empty() {
            return Err(Error::Unsupported(
                "cgroups: no cgroup v1 hierarchy is mounted".into(),
            ));
        }
        let self_cg = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| Error::io("read", "/proc/self/cgroup", e))?;
        let mut created = Created::default();
        let mut hierarchies = Vec::new();
        let result = (|| {
            for m in &mounts {
                let own = placement::own_cgroup(&self_cg, Some(&m.controllers[0]))
                    .unwrap_or_else(|| "/".into());
                let dir = placement::target(&m.mount, &m.root, &own, id, cgroups_path);
                let cpuset = m.controllers.iter().any(|c| c == "cpuset");
                created.mkdir_p(&dir, cpuset)?;
                hierarchies.push(Placed {
                    controllers: m.controllers.clone(),
                    dir,
                });
            }
            if mode == Mode::Hybrid {
                if let Some((mount, root)) = &v2_mount {
                    let own = placement::own_cgroup(&self_cg, None).unwrap_or_else(|| "/".into());
                    let dir = placement::target(mount, root, &own, id, cgroups_path);
                    let needed: &[&str] = match resources {
                        Some(r) if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) => {
                            &["hugetlb"]
                        }
                        _ => &[],
                    };
                    v2::make_dir(&mut created, &dir, needed)?;
                    hierarchies.push(Placed {
                        controllers: Vec::new(),
                        dir,
                    });
                }
            }
            if let Some(h) = hierarchies
                .iter()
                .find(|h| h.controllers.iter().any(|c| c == "blkio"))
            {
                activate_blkio_accounting(&h.dir);
            }
            let mgr = V1 {
                state: CgroupState {
                    systemd_unit: None,
                    mode: Some(mode),
                    hierarchies: hierarchies.clone(),
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

    pub fn open(state: &CgroupState) -> V1 {
        V1 {
            state: state.clone(),
            reader: Mutex::new(fs::Reader::default()),
        }
    }

    /// The container's directory in the hierarchy holding `controller`.
    fn dir(&self, controller: &str) -> Option<&Path> {
        self.state
            .hierarchies
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
            .map(|h| h.dir.as_path())
    }

    fn need(&self, controller: &str, what: &str) -> Result<&Path> {
        self.dir(controller).ok_or_else(|| {
            Error::Unsupported(format!(
                "{what}: the cgroup v1 {controller} controller is not mounted on this host"
            ))
        })
    }

    /// The cgroup2 directory in hybrid mode.
    fn unified(&self) -> Option<&Path> {
        self.state
            .hierarchies
            .iter()
            .find(|h| h.controllers.is_empty())
            .map(|h| h.dir.as_path())
    }

    /// The hierarchy whose `cgroup.procs` lists the container's processes.
    fn procs_dir(&self) -> Result<&Path> {
        ["freezer", "pids", "memory", "cpu"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.state.hierarchies.first().map(|h| h.dir.as_path()))
            .ok_or_else(|| Error::Unsupported("cgroups: no hierarchy".into()))
    }

    fn set_memory(&self, m: &LinuxMemory) -> Result<()> {
        let dir = self.need("memory", "memory limits")?;
        let num = |v: i64| v.to_string();
        if let Some(r) = m.reservation() {
            fs::write(dir, "memory.soft_limit_in_bytes", &num(r))?;
        }
        match (m.limit(), m.swap()) {
            (Some(l), Some(s)) => {
                if !dir.join("memory.memsw.limit_in_bytes").exists() {
                    return Err(Error::Unsupported(
                        "memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes; boot with swapaccount=1)".into(),
                    ));
                }
                // memsw must stay >= limit at every step: the order depends
                // on whether the limits go up or down, so try both.
                let a = fs::write(dir, "memory.limit_in_bytes", &num(l))
                    .and_then(|_| fs::write(dir, "memory.memsw.limit_in_bytes", &num(s)));
                if a.is_err() {
                    fs::write(dir, "memory.memsw.limit_in_bytes", &num(s))?;
                    fs::write(dir, "memory.limit_in_bytes", &num(l))?;
                }
            }
            (Some(l), None) => fs::write(dir, "memory.limit_in_bytes", &num(l))?,
            (None, Some(s)) => fs::write(dir, "memory.memsw.limit_in_bytes", &num(s))?,
            (None, None) => {}
        }
        if let Some(s) = m.swappiness() {
            fs::write(dir, "memory.swappiness", &s.to_string())?;
        }
        if let Some(d) = m.disable_oom_killer() {
            fs::write(dir, "memory.oom_control", if d { "1" } else { "0" })?;
        }
        // Kernel memory (deprecated, accepted and ignored by Linux >= 5.16):
        // written where the kernel still has the file, as runc and crun do.
        for (v, file) in [
            (m.kernel(), "memory.kmem.limit_in_bytes"),
            (m.kernel_tcp(), "memory.kmem.tcp.limit_in_bytes"),
        ] {
            if let Some(v) = v {
                if dir.join(file).exists() {
                    fs::write(dir, file, &num(v))?;
                } else {
                    tracing::debug!("{file}: not on this kernel, limit {v} not applied");
                }
            }
        }
        Ok(())
    }

    fn set_cpu(&self, c: &LinuxCpu) -> Result<()> {
        let wants_cpu = c.shares().is_some()
            || c.quota().is_some()
            || c.period().is_some()
            || c.idle().is_some()
            || c.burst().is_some()
            || c.realtime_period().is_some()
            || c.realtime_runtime().is_some();
        if wants_cpu {
            let dir = self.need("cpu", "cpu limits")?;
            if let Some(s) = c.shares().filter(|s| *s != 0) {
                fs::write(dir, "cpu.shares", &s.to_string())?;
            }
            if let Some(p) = c.period() {
                fs::write(dir, "cpu.cfs_period_us", &p.to_string())?;
            }
            if let Some(q) = c.quota() {
                fs::write(dir, "cpu.cfs_quota_us", &q.to_string())?;
            }
            if let Some(b) = c.burst() {
                fs::write(dir, "cpu.cfs_burst_us", &b.to_string())?;
            }
            if let Some(i) = c.idle() {
                fs::write(dir, "cpu.idle", &i.to_string())?;
            }
            if let Some(p) = c.realtime_period() {
                fs::write(dir, "cpu.rt_period_us", &p.to_string())?;
            }
            if let Some(r) = c.realtime_runtime() {
                fs::write(dir, "cpu.rt_runtime_us", &r.to_string())?;
            }
        }
        if c.cpus().is_some() || c.mems().is_some() {
            let dir = self.need("cpuset", "cpuset")?;
            if let Some(cpus) = c.cpus() {
                fs::write(dir, "cpuset.cpus", cpus)?;
            }
            if let Some(mems) = c.mems() {
                fs::write(dir, "cpuset.mems", mems)?;
            }
        }
        Ok(())
    }

    fn set_blkio(&self, b: &LinuxBlockIo) -> Result<()> {
        let dir = self.need("blkio", "block I/O limits")?;
        let weight_prefix = || -> Result<&'static str> {
            if dir.join("blkio.weight").exists() {
                Ok("blkio.")
            } else if dir.join("blkio.bfq.weight").exists() {
                Ok("blkio.bfq.")
            } else {
                Err(Error::Unsupported(
                    "blockIO.weight: this kernel's blkio controller has no weight file (blkio.weight or blkio.bfq.weight); use throttles".into(),
                ))
            }
        };
        if let Some(w) = b.weight() {
            fs::write(dir, &format!("{}weight", weight_prefix()?), &w.to_string())?;
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                let v = format!("{}:{} {}", d.major(), d.minor(), w);
                fs::write(dir, &format!("{}weight_device", weight_prefix()?), &v)?;
            }
        }
        for (file, list) in [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ] {
            for d in list.iter().flatten() {
                fs::write(
                    dir,
                    file,
                    &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                )?;
            }
        }
        Ok(())
    }

    fn set_hugetlb(&self, r: &LinuxResources) -> Result<()> {
        let limits = r.hugepage_limits().as_deref().unwrap_or_default();
        if limits.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.dir("hugetlb") {
            for h in limits {
                let f = format!("hugetlb.{}.limit_in_bytes", h.page_size());
                fs::write(dir, &f, &h.limit().to_string())?;
            }
            return Ok(());
        }
        match self.unified() {
            // Hybrid: hugetlb lives on the cgroup2 mount (make_dir checked
            // it is enabled there).
            Some(dir) => v2::set_hugetlb(dir, limits),
            None => Err(Error::Unsupported(
                "hugepageLimits: no hugetlb controller on this host".into(),
            )),
        }
    }

    fn freezer_state(&self, dir: &Path) -> Result<String> {
        let mut buf = String::new();
        fs::read_into(dir, "freezer.state", &mut buf)?;
        Ok(buf.trim().to_string())
    }

    fn set_freezer(&self, want: &str) -> Result<()> {
        let dir = self.need("freezer", "pause/resume")?;
        // FREEZING can linger while tasks are in uninterruptible sleep;
        // rewriting the state nudges the kernel, as runc does.
        let done = fs::wait_until(Duration::from_secs(5), || {
            fs::write(dir, "freezer.state", want)?;
            Ok(self.freezer_state(dir)? == want)
        })?;
        if done {
            Ok(())
        } else {
            if want == "FROZEN" {
                let _ = fs::write(dir, "freezer.state", "THAWED");
            }
            Err(cg_err(
                &dir.join("freezer.state"),
                format!("did not reach {want} within 5 s"),
            ))
        }
    }
}

/// Since Linux 6.9 blk-throttle sets a queue up lazily, on the first
/// throttle rule written for that device, and until then no v1
/// `blkio.throttle.io_service*` figure counts anything. Writing "MAJ:MIN 0"
/// (the documented "no limit") for every block device sets the queues up
/// without limiting anything. Best effort: a device that refuses is skipped.
fn activate_blkio_accounting(dir: &Path) {
    let Ok(rd) = std::fs::read_dir("/sys/block") else {
        return;
    };
    let mut buf = String::new();
    for e in rd.flatten() {
        // Only devices with media: each one written here gives the cgroup
        // a blkg that every blkio stats read walks (empty loop and zram
        // devices would only make sampling slower).
        let has_media = fs::read_opt(&e.path(), "size", &mut buf).unwrap_or(false)
            && buf.trim().parse::<u64>().is_ok_and(|s| s > 0);
        if has_media && fs::read_opt(&e.path(), "dev", &mut buf).unwrap_or(false) {
            let v = format!("{} 0", buf.trim());
            let _ = fs::write(dir, "blkio.throttle.read_bps_device", &v);
        }
    }
}

/// Sums per-device lines "MAJ:MIN Op N" of a v1 blkio file into (read, write).
fn blkio_sum(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let mut it = l.split_ascii_whitespace();
        let (Some(_dev), Some(op), Some(n)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let n: u64 = n.parse().unwrap_or(0);
        match op {
            "Read" => r += n,
            "Write" => w += n,
            _ => {}
        }
    }
    (r, w)
}

impl CgroupManager for V1 {
    fn state(&self) -> CgroupState {
        self.state.clone()
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        super::validate::validate(r)?;
        if let Some(m) = r.memory() {
            self.set_memory(m)?;
        }
        if let Some(c) = r.cpu() {
            self.set_cpu(c)?;
        }
        if let Some(p) = r.pids() {
            if p.limit() != 0 {
                let dir = self.need("pids", "pids limit")?;
                let v = if p.limit() > 0 {
                    p.limit().to_string()
                } else {
                    "max".into()
                };
                fs::write(dir, "pids.max", &v)?;
            }
        }
        if let Some(b) = r.block_io() {
            self.set_blkio(b)?;
        }
        self.set_hugetlb(r)?;
        if let Some(d) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            super::devices::apply_v1(self.need("devices", "device access rules")?, d)?;
        }
        if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
            let dir = self.unified().ok_or_else(|| {
                Error::Unsupported("unified: cgroup v2 keys on a cgroup v1 host".into())
            })?;
            for (k, v) in u {
                fs::write(dir, k, v)?;
            }
        }
        Ok(())
    }

    fn procs_fds(&self) -> Result<Vec<OwnedFd>> {
        self.state
            .hierarchies
            .iter()
            .map(|h| super::open_procs(&h.dir))
            .collect()
    }

    fn child_join(&self) -> Result<super::ChildJoin> {
        let mut j = super::ChildJoin::default();
        for h in &self.state.hierarchies {
            if h.controllers.is_empty() {
                j.set_v2(&h.dir)?;
            } else {
                j.add_v1(&h.dir)?;
            }
        }
        Ok(j)
    }

    fn add_pid(&self, pid: i32) -> Result<()> {
        let v = pid.to_string();
        for h in &self.state.hierarchies {
            fs::write(&h.dir, "cgroup.procs", &v)?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let mut r = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(fs::parse_pids(r.fresh(self.procs_dir()?, c"cgroup.procs")?))
    }

    fn freeze(&self) -> Result<()> {
        self.set_freezer("FROZEN")
    }

    fn thaw(&self) -> Result<()> {
        self.set_freezer("THAWED")
    }

    fn is_frozen(&self) -> Result<bool> {
        match self.dir("freezer") {
            Some(dir) => Ok(self.freezer_state(dir)? == "FROZEN"),
            None => Ok(false),
        }
    }

    fn stats(&self) -> Result<CgroupStats> {
        let mut r = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let r = &mut *r;
        let mut s = CgroupStats::default();
        if let Some(d) = self.dir("memory") {
            let usage = r.u64(d, "memory.usage_in_bytes")?;
            let inactive = fs::keyed(r.text(d, "memory.stat")?, "total_inactive_file");
            s.memory_usage = usage.saturating_sub(inactive.unwrap_or(0));
            s.memory_charged = usage;
            s.memory_peak = r.u64(d, "memory.max_usage_in_bytes")?;
            let limit = r.u64(d, "memory.limit_in_bytes")?;
            s.memory_limit = (limit < V1_UNLIMITED).then_some(limit);
            if let Some(t) = r.opt(d, "memory.oom_control")? {
                s.oom_kills = fs::keyed(t, "oom_kill").unwrap_or(0);
            }
        }
        if let Some(d) = self.dir("cpuacct") {
            s.cpu_time_ns = r.u64(d, "cpuacct.usage")?;
        }
        if let Some(d) = self.dir("cpu") {
            if let Some(t) = r.opt(d, "cpu.stat")? {
                s.cpu_periods = fs::keyed(t, "nr_periods").unwrap_or(0);
                s.cpu_throttled_periods = fs::keyed(t, "nr_throttled").unwrap_or(0);
                s.cpu_throttled_ns = fs::keyed(t, "throttled_time").unwrap_or(0);
            }
        }
        if let Some(d) = self.dir("blkio") {
            // The throttle files count every bio the cgroup submits,
            // whatever the I/O scheduler (the CFQ/BFQ ones count only on
            // devices using that scheduler); see activate_blkio_accounting.
            if let Some(t) = r.opt(d, "blkio.throttle.io_service_bytes_recursive")? {
                (s.read_bytes, s.write_bytes) = blkio_sum(t);
            }
            if let Some(t) = r.opt(d, "blkio.throttle.io_serviced_recursive")? {
                (s.read_ops, s.write_ops) = blkio_sum(t);
            }
        }
        let procs = self.procs_dir()?;
        s.tasks = match self.dir("pids") {
            Some(d) => r.u64(d, "pids.current")?,
            None => fs::count_lines(r.fresh(procs, c"tasks")?),
        };
        // No more than one task is that many processes: the pid list (on
        // v1 the dearest read of a sample: built, sorted, and freed by a
        // kernel worker a second later) only when there are more. (An
        // unreaped zombie init still counts in pids.current for a moment.)
        s.processes = if s.tasks <= 1 {
            s.tasks
        } else {
            fs::count_lines(r.fresh(procs, c"cgroup.procs")?)
        };
        Ok(s)
    }

    fn kill_all(&self) -> Result<()> {
        // Frozen, nothing can fork while we go through the list; SIGKILL
        // is delivered once the tasks are thawed.
        let frozen = self.dir("freezer").is_some() && self.freeze().is_ok();
        let mut thawed = !frozen;
        let empty = fs::wait_until(Duration::from_secs(10), || {
            let pids = self.pids()?;
            if pids.is_empty() {
                return Ok(true);
            }
            for pid in pids {
                // SAFETY: kill(2) has no memory effects; ESRCH (already
                // gone) is fine.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if !thawed {
                self.thaw()?;
                thawed = true;
            }
            Ok(false)
        })?;
        if !thawed {
            self.thaw()?;
        }
        if empty {
            Ok(())
        } else {
            Err(cg_err(
                self.procs_dir()?,
                "processes still there 10 s after SIGKILL",
            ))
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
    fn blkio_lines() {
        let t = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:16 Write 10\n8:0 Total 12288\nTotal 12298\n";
        assert_eq!(blkio_sum(t), (4096, 8202));
    }
}
