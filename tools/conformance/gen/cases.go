package main

// The bundle cases: one spec each, written by runtime-tools' generator,
// and what the runtime must do with it. Each scenario stands for one of
// the validation suite's programs (named in the comment above it); the
// assertions are the suite's, the probes are ours (the container prints
// what it sees with busybox; the cgroup cases are read back from the host
// with runtime-tools' own cgroups package, as the suite does).

import (
	"os"
	"path/filepath"
	"syscall"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/generate"
	"github.com/opencontainers/runtime-tools/generate/seccomp"
)

// How run.sh drives a case.
const (
	kindRun    = "run"    // `run`; stdout must equal expect
	kindFail   = "fail"   // `create` must fail and leave no container
	kindCgroup = "cgroup" // `create`; `gen cgcheck` reads the cgroup back
)

type testCase struct {
	name   string
	kind   string
	probe  string
	expect string
	edit   func(g *generate.Generator, env *genEnv)
	// Files the case needs in the (shared) rootfs.
	prep func(rootfs string) error
	// Edits at the JSON level (what the Go types cannot express).
	raw func(m map[string]interface{})
}

// What the cases need to know about the host.
type genEnv struct {
	rootfs string
	// Absolute cgroupsPath prefix for the cgroup cases: below run.sh's own
	// memory cgroup, so nothing escapes the cgroup it was given.
	cgAbs string
	// Relative cgroupsPath prefix (resolved under the runtime's own cgroup).
	cgRel string
	// A real block device for the blkio throttle case ("" if none).
	blkMajor, blkMinor int64
}

const rootTags = `awk '$5 == "/" { t = "none"; for (i = 7; $i != "-"; i++) { if ($i ~ /^shared:/) t = "shared"; if ($i == "unbindable") t = "unbindable" }; print t }' /proc/self/mountinfo`

func cgroupMount(g *generate.Generator, _ *genEnv) {
	g.RemoveMount("/sys/fs/cgroup")
	g.AddMount(rspec.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
		Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
}

func i64(v int64) *int64 { return &v }

func fileMode(m os.FileMode) *os.FileMode { return &m }

func u32(v uint32) *uint32 { return &v }

// writeTree makes dirs and files (with content) under the rootfs.
func writeTree(rootfs string, dirs []string, files map[string]string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, f), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func mknod(rootfs, path string, mode uint32) error {
	p := filepath.Join(rootfs, path)
	_ = os.Remove(p)
	return syscall.Mknod(p, mode|0o666, 0)
}

var cases = []testCase{
	// default, hostname
	{name: "default", probe: "echo ok", expect: "ok"},
	{name: "hostname", probe: "hostname", expect: "conformance",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetHostname("conformance") }},
	// linux_seccomp
	{name: "seccomp-default", probe: "grep Seccomp: /proc/self/status | tr -d '\\t '", expect: "Seccomp:2",
		edit: func(g *generate.Generator, _ *genEnv) { g.Config.Linux.Seccomp = seccomp.DefaultProfile(g.Config) }},
	{name: "seccomp-errno-rule", probe: "mkdir /tmp/cvsec$$ 2>/dev/null && { rmdir /tmp/cvsec$$; echo made; } || echo denied",
		expect: "denied", edit: func(g *generate.Generator, _ *genEnv) {
			g.SetDefaultSeccompAction("allow")
			for _, name := range []string{"mkdir", "mkdirat"} {
				if err := g.SetSyscallAction(seccomp.SyscallOpts{Action: "errno", Syscall: name}); err != nil {
					panic(err)
				}
			}
		}},
	// A syscall name the runtime does not know (a profile for a newer
	// kernel) is skipped, as runc and crun do.
	{name: "seccomp-unknown-syscall", probe: "echo ok", expect: "ok",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.SetDefaultSeccompAction("allow")
			if err := g.SetSyscallAction(seccomp.SyscallOpts{Action: "errno", Syscall: "cv_no_such_syscall"}); err != nil {
				panic(err)
			}
		}},
	// linux_rootfs_propagation
	{name: "propagation-shared", probe: rootTags, expect: "shared",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetLinuxRootPropagation("shared") }},
	{name: "propagation-slave", probe: rootTags, expect: "none",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetLinuxRootPropagation("slave") }},
	{name: "propagation-private", probe: rootTags, expect: "none",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetLinuxRootPropagation("private") }},
	{name: "propagation-unbindable", probe: rootTags, expect: "unbindable",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetLinuxRootPropagation("unbindable") }},
	// linux_uid_mappings, linux_gid_mappings
	{name: "user-namespace", probe: "id -u", expect: "0", edit: userNS},
	{name: "user-namespace-maps", probe: "awk '{ print $1, $2, $3 }' /proc/self/uid_map /proc/self/gid_map",
		expect: "0 1000 1000\n0 1000 1000", edit: userNS},
	// the v1 views of linux_cgroups_* from inside
	{name: "memory-limit-v1-view", probe: "cat /sys/fs/cgroup/memory/memory.limit_in_bytes", expect: "67108864",
		edit: func(g *generate.Generator, e *genEnv) {
			cgroupMount(g, e)
			g.SetLinuxResourcesMemoryLimit(64 << 20)
		}},
	{name: "kernel-tcp-memory", probe: "cat /sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes", expect: "33554432",
		edit: func(g *generate.Generator, e *genEnv) {
			cgroupMount(g, e)
			g.SetLinuxResourcesMemoryLimit(128 << 20)
			g.SetLinuxResourcesMemoryKernelTCP(32 << 20)
		}},
	{name: "pids-limit", probe: "cat /sys/fs/cgroup/pids/pids.max", expect: "55",
		edit: func(g *generate.Generator, e *genEnv) {
			cgroupMount(g, e)
			g.SetLinuxResourcesPidsLimit(55)
		}},
	{name: "systemd-hierarchy-own", probe: "test -e /sys/fs/cgroup/systemd/release_agent && echo host || echo own",
		expect: "own", edit: cgroupMount},
	// linux_masked_paths
	{name: "masked-path", probe: "test -s /proc/kcore && echo visible || echo masked", expect: "masked",
		edit: func(g *generate.Generator, _ *genEnv) { g.AddLinuxMaskedPaths("/proc/kcore") }},
	{name: "masked-tree",
		probe:  "ls -A /masked-dir | wc -l; ls -A /masked-dir/masked-subdir 2>/dev/null | wc -l; cat /masked-file /masked-dir/masked-file /masked-dir/masked-subdir/masked-file 2>/dev/null | wc -c",
		expect: "0\n0\n0",
		prep: func(r string) error {
			return writeTree(r, []string{"masked-dir/masked-subdir"}, map[string]string{
				"masked-file": "secrets", "masked-dir/masked-file": "secrets",
				"masked-dir/masked-subdir/masked-file": "secrets", "masked-dir/masked-subdir/tmp": "x"})
		},
		edit: func(g *generate.Generator, _ *genEnv) {
			for _, p := range []string{"/masked-dir", "/masked-file", "/masked-dir/masked-subdir",
				"/masked-dir/masked-file", "/masked-dir/masked-subdir/masked-file"} {
				g.AddLinuxMaskedPaths(p)
			}
		}},
	{name: "masked-device-nodes", probe: "cat /masked-fifo /masked-chr 2>/dev/null | wc -c", expect: "0",
		prep: func(r string) error {
			if err := mknod(r, "masked-fifo", syscall.S_IFIFO); err != nil {
				return err
			}
			return mknod(r, "masked-chr", syscall.S_IFCHR)
		},
		edit: func(g *generate.Generator, _ *genEnv) {
			g.AddLinuxMaskedPaths("/masked-fifo")
			g.AddLinuxMaskedPaths("/masked-chr")
		}},
	// linux_readonly_paths
	{name: "readonly-path", probe: "touch /proc/sys/kernel/x 2>/dev/null; echo 1 > /proc/sys/vm/swappiness 2>/dev/null || echo ro",
		expect: "ro", edit: func(g *generate.Generator, _ *genEnv) { g.AddLinuxReadonlyPaths("/proc/sys") }},
	{name: "readonly-tree",
		probe: "for f in /readonly-file /readonly-dir/readonly-file /readonly-dir/readonly-subdir/readonly-file; do " +
			"cat $f; echo x 2>/dev/null >> $f && echo written; done; touch /readonly-dir/new 2>/dev/null && echo created; " +
			"touch /readonly-dir/readonly-subdir/new 2>/dev/null && echo created; echo end",
		expect: "immutable\nimmutable\nimmutable\nend",
		prep: func(r string) error {
			return writeTree(r, []string{"readonly-dir/readonly-subdir"}, map[string]string{
				"readonly-file": "immutable\n", "readonly-dir/readonly-file": "immutable\n",
				"readonly-dir/readonly-subdir/readonly-file": "immutable\n"})
		},
		edit: func(g *generate.Generator, _ *genEnv) {
			for _, p := range []string{"/readonly-dir", "/readonly-file", "/readonly-dir/readonly-subdir",
				"/readonly-dir/readonly-file", "/readonly-dir/readonly-subdir/readonly-file"} {
				g.AddLinuxReadonlyPaths(p)
			}
		}},
	{name: "readonly-device-nodes", probe: "test -p /readonly-fifo && test -b /readonly-blk && echo ok", expect: "ok",
		prep: func(r string) error {
			if err := mknod(r, "readonly-fifo", syscall.S_IFIFO); err != nil {
				return err
			}
			return mknod(r, "readonly-blk", syscall.S_IFBLK)
		},
		edit: func(g *generate.Generator, _ *genEnv) {
			g.AddLinuxReadonlyPaths("/readonly-fifo")
			g.AddLinuxReadonlyPaths("/readonly-blk")
		}},
	// linux_sysctl
	{name: "sysctl", probe: "cat /proc/sys/net/ipv4/ip_forward", expect: "1",
		edit: func(g *generate.Generator, _ *genEnv) { g.AddLinuxSysctl("net.ipv4.ip_forward", "1") }},
	{name: "sysctl-ipc", probe: "cat /proc/sys/kernel/shmmni", expect: "1234",
		edit: func(g *generate.Generator, _ *genEnv) { g.AddLinuxSysctl("kernel.shmmni", "1234") }},
	// process_rlimits, process_rlimits_fail
	{name: "rlimit", probe: "ulimit -n", expect: "777",
		edit: func(g *generate.Generator, _ *genEnv) { g.AddProcessRlimits("RLIMIT_NOFILE", 777, 777) }},
	{name: "rlimit-soft-hard", probe: "echo $(ulimit -Sn) $(ulimit -Hn) $(ulimit -Ss) $(ulimit -Hs)", expect: "500 600 4096 8192",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.AddProcessRlimits("RLIMIT_NOFILE", 600, 500)
			g.AddProcessRlimits("RLIMIT_STACK", 8192*1024, 4096*1024)
		}},
	{name: "rlimit-unknown", kind: kindFail,
		edit: func(g *generate.Generator, _ *genEnv) { g.AddProcessRlimits("RLIMIT_TEST", 1024, 1024) }},
	// process_capabilities, process_capabilities_fail
	{name: "capabilities", probe: "grep CapEff: /proc/self/status | tr -d '\\t '", expect: "CapEff:0000000000000020",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.ClearProcessCapabilities()
			_ = g.AddProcessCapability("CAP_KILL")
		}},
	// Root after execve: permitted = bounding | inheritable, effective =
	// permitted, ambient kept (in permitted and inheritable).
	{name: "capabilities-sets", probe: "grep ^Cap /proc/self/status | tr -d '\\t'",
		expect: "CapInh:0000000000000001\nCapPrm:0000000000000421\nCapEff:0000000000000421\nCapBnd:0000000000000421\nCapAmb:0000000000000001",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.ClearProcessCapabilities()
			c := g.Config.Process.Capabilities
			c.Bounding = []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"}
			c.Permitted = []string{"CAP_KILL", "CAP_CHOWN"}
			c.Effective = []string{"CAP_KILL"}
			c.Inheritable = []string{"CAP_CHOWN"}
			c.Ambient = []string{"CAP_CHOWN"}
		}},
	// A non-root user keeps what the spec gives it across setuid: its
	// ambient set becomes its permitted and effective set at execve.
	{name: "capabilities-nonroot", probe: "grep -E '^Cap(Eff|Amb)' /proc/self/status | tr -d '\\t'",
		expect: "CapEff:0000000000000020\nCapAmb:0000000000000020",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.ClearProcessCapabilities()
			_ = g.AddProcessCapability("CAP_KILL")
			g.SetProcessUID(1000)
			g.SetProcessGID(1000)
		}},
	{name: "capability-unknown", kind: kindFail,
		edit: func(g *generate.Generator, _ *genEnv) {
			g.Config.Process.Capabilities.Bounding = append(g.Config.Process.Capabilities.Bounding, "CAP_TEST")
		}},
	// linux_devices
	{name: "device", probe: "test -c /dev/cvfull && echo dev", expect: "dev",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.AddDevice(rspec.LinuxDevice{Path: "/dev/cvfull", Type: "c", Major: 1, Minor: 7, FileMode: fileMode(0o666)})
		}},
	{name: "devices-typed", probe: "stat -c '%n %F %t:%T %a %u:%g' /dev/cvchr /dev/cvblk /dev/cvfifo",
		expect: "/dev/cvchr character special file 1:3 640 1000:1001\n" +
			"/dev/cvblk block special file 7:0 600 0:0\n" +
			"/dev/cvfifo fifo 0:0 644 1002:1002",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.AddDevice(rspec.LinuxDevice{Path: "/dev/cvchr", Type: "c", Major: 1, Minor: 3,
				FileMode: fileMode(0o640), UID: u32(1000), GID: u32(1001)})
			g.AddDevice(rspec.LinuxDevice{Path: "/dev/cvblk", Type: "b", Major: 7, Minor: 0, FileMode: fileMode(0o600)})
			g.AddDevice(rspec.LinuxDevice{Path: "/dev/cvfifo", Type: "p", FileMode: fileMode(0o644),
				UID: u32(1002), GID: u32(1002)})
		}},
	// process_oom_score_adj, process (umask, cwd, env, user), linux_process
	{name: "oom-score-adj", probe: "cat /proc/self/oom_score_adj", expect: "123",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetProcessOOMScoreAdj(123) }},
	{name: "umask", probe: "umask", expect: "0027",
		edit: func(g *generate.Generator, _ *genEnv) { g.Config.Process.User.Umask = u32(0o027) }},
	{name: "process-cwd-env", probe: `echo "$(pwd) $CV_CONF"`, expect: "/tmp x y",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.SetProcessCwd("/tmp")
			g.AddProcessEnv("CV_CONF", "x y")
		}},
	{name: "process-user", probe: "echo $(id -u) $(id -g) $(id -G)", expect: "1000 1001 1001 1002 1003",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.SetProcessUID(1000)
			g.SetProcessGID(1001)
			g.AddProcessAdditionalGid(1002)
			g.AddProcessAdditionalGid(1003)
		}},
	{name: "no-new-privileges", probe: "grep NoNewPrivs: /proc/self/status | tr -d '\\t '", expect: "NoNewPrivs:1",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetProcessNoNewPrivileges(true) }},
	// root_readonly_true
	{name: "root-readonly", probe: "touch /cv-rw 2>/dev/null && echo rw || echo ro", expect: "ro",
		edit: func(g *generate.Generator, _ *genEnv) { g.SetRootReadonly(true) }},
	// mounts
	{name: "mount-tmpfs", probe: "stat -c %a /mnt/cvtmp; awk '$2 == \"/mnt/cvtmp\" { print $3 }' /proc/self/mounts", expect: "700\ntmpfs",
		edit: func(g *generate.Generator, _ *genEnv) {
			g.AddMount(rspec.Mount{Destination: "/mnt/cvtmp", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "nodev", "mode=700", "size=1m"}})
		}},
	{name: "mount-bind-ro", probe: "test -x /mnt/cvbin/busybox && echo seen; touch /mnt/cvbin/x 2>/dev/null && echo rw || echo ro",
		expect: "seen\nro",
		edit: func(g *generate.Generator, e *genEnv) {
			g.AddMount(rspec.Mount{Destination: "/mnt/cvbin", Type: "bind", Source: filepath.Join(e.rootfs, "bin"),
				Options: []string{"rbind", "ro"}})
		}},
	// misc_props: unknown annotation keys and properties are ignored, an
	// invalid ociVersion is an error.
	{name: "unknown-annotation", probe: "echo ok", expect: "ok",
		edit: func(g *generate.Generator, _ *genEnv) { g.AddAnnotation("org.cvconformance.unknown", "") }},
	{name: "unknown-property", probe: "echo ok", expect: "ok",
		raw: func(m map[string]interface{}) { m["unknown"] = "unknown" }},
	{name: "invalid-oci-version", kind: kindFail,
		edit: func(g *generate.Generator, _ *genEnv) { g.SetVersion("invalid") }},
	// linux_ns_path_type's neighbour: an unknown namespace type is an error.
	{name: "namespace-unknown-type", kind: kindFail,
		edit: func(g *generate.Generator, _ *genEnv) {
			g.Config.Linux.Namespaces = append(g.Config.Linux.Namespaces, rspec.LinuxNamespace{Type: "cvbogus"})
		}},
	// linux_cgroups_memory / _relative_memory
	{name: "cgroups-memory-abs", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgAbs + "/memory")
		memory(g, 50593792, 10)
	}},
	{name: "cgroups-memory-rel", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgRel + "/memory")
		memory(g, 151781376, 100)
	}},
	// linux_cgroups_cpus / _relative_cpus
	{name: "cgroups-cpus-abs", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgAbs + "/cpus")
		cpus(g, 2048, 500000, 200000, "0")
	}},
	{name: "cgroups-cpus-rel", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgRel + "/cpus")
		cpus(g, 1024, 100000, 50000, "0-1")
	}},
	{name: "cgroups-cpus-realtime", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgRel + "/cpurt")
		g.SetLinuxResourcesCPURealtimePeriod(1000000)
		g.SetLinuxResourcesCPURealtimeRuntime(0)
	}},
	{name: "cgroups-cpus-empty", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgAbs + "/cpuempty")
		g.InitConfigLinuxResourcesCPU()
	}},
	// linux_cgroups_pids / _relative_pids
	{name: "cgroups-pids-abs", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgAbs + "/pids")
		g.SetLinuxResourcesPidsLimit(1000)
	}},
	{name: "cgroups-pids-rel", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgRel + "/pids")
		g.SetLinuxResourcesPidsLimit(1000)
	}},
	// linux_cgroups_devices / _relative_devices
	{name: "cgroups-devices-abs", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgAbs + "/devices")
		devices(g)
	}},
	{name: "cgroups-devices-rel", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgRel + "/devices")
		devices(g)
	}},
	// linux_cgroups_blkio / _relative_blkio: throttle only (this kernel's
	// blkio has no weight files, so the suite's own weight read fails for
	// every runtime).
	{name: "cgroups-blkio-abs", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgAbs + "/blkio")
		blkio(g, e)
	}},
	{name: "cgroups-blkio-rel", kind: kindCgroup, edit: func(g *generate.Generator, e *genEnv) {
		g.SetLinuxCgroupsPath(e.cgRel + "/blkio")
		blkio(g, e)
	}},
}

func userNS(g *generate.Generator, _ *genEnv) {
	_ = g.AddOrReplaceLinuxNamespace("user", "")
	g.AddLinuxUIDMapping(1000, 0, 1000)
	g.AddLinuxGIDMapping(1000, 0, 1000)
}

func memory(g *generate.Generator, limit int64, swappiness uint64) {
	g.SetLinuxResourcesMemoryLimit(limit)
	g.SetLinuxResourcesMemoryReservation(limit)
	g.SetLinuxResourcesMemorySwap(limit)
	g.SetLinuxResourcesMemoryKernel(limit)
	g.SetLinuxResourcesMemoryKernelTCP(limit)
	g.SetLinuxResourcesMemorySwappiness(swappiness)
	g.SetLinuxResourcesMemoryDisableOOMKiller(true)
}

func cpus(g *generate.Generator, shares, period uint64, quota int64, cpuset string) {
	g.SetLinuxResourcesCPUShares(shares)
	g.SetLinuxResourcesCPUPeriod(period)
	g.SetLinuxResourcesCPUQuota(quota)
	g.SetLinuxResourcesCPUCpus(cpuset)
	g.SetLinuxResourcesCPUMems("0")
}

func devices(g *generate.Generator) {
	g.AddLinuxResourcesDevice(true, "c", i64(10), i64(229), "rwm")
	g.AddLinuxResourcesDevice(true, "b", i64(8), i64(20), "rw")
	g.AddLinuxResourcesDevice(true, "b", i64(10), i64(200), "r")
}

func blkio(g *generate.Generator, e *genEnv) {
	g.AddLinuxResourcesBlockIOThrottleReadBpsDevice(e.blkMajor, e.blkMinor, 102400)
	g.AddLinuxResourcesBlockIOThrottleWriteBpsDevice(e.blkMajor, e.blkMinor, 204800)
	g.AddLinuxResourcesBlockIOThrottleReadIOPSDevice(e.blkMajor, e.blkMinor, 300)
	g.AddLinuxResourcesBlockIOThrottleWriteIOPSDevice(e.blkMajor, e.blkMinor, 400)
}
