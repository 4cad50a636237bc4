// gen writes OCI bundles the way the runtime-tools validation programs
// write theirs: runtime-tools' own generator (generate.New("linux"), the
// Debian package golang-github-opencontainers-runtime-tools-dev) and
// encoding/json, so every spec has Go's omitempty shape. One bundle per
// case, each in a 0700 directory as os.MkdirTemp makes them, with the
// probe the container runs and the output it must print ("expect").
//
//	gen OUTDIR ROOTFS
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/generate"
	"github.com/opencontainers/runtime-tools/generate/seccomp"
)

type testCase struct {
	name   string
	probe  string
	expect string
	edit   func(g *generate.Generator)
}

const rootTags = `awk '$5 == "/" { t = "none"; for (i = 7; $i != "-"; i++) { if ($i ~ /^shared:/) t = "shared"; if ($i == "unbindable") t = "unbindable" }; print t }' /proc/self/mountinfo`

func cgroupMount(g *generate.Generator) {
	g.RemoveMount("/sys/fs/cgroup")
	g.AddMount(rspec.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
		Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
}

var cases = []testCase{
	{"default", "echo ok", "ok", nil},
	{"hostname", "hostname", "conformance", func(g *generate.Generator) { g.SetHostname("conformance") }},
	{"seccomp-default", "grep Seccomp: /proc/self/status | tr -d '\\t '", "Seccomp:2",
		func(g *generate.Generator) { g.Config.Linux.Seccomp = seccomp.DefaultProfile(g.Config) }},
	{"propagation-shared", rootTags, "shared", func(g *generate.Generator) { g.SetLinuxRootPropagation("shared") }},
	{"propagation-slave", rootTags, "none", func(g *generate.Generator) { g.SetLinuxRootPropagation("slave") }},
	{"propagation-private", rootTags, "none", func(g *generate.Generator) { g.SetLinuxRootPropagation("private") }},
	{"propagation-unbindable", rootTags, "unbindable", func(g *generate.Generator) { g.SetLinuxRootPropagation("unbindable") }},
	{"user-namespace", "id -u", "0", func(g *generate.Generator) {
		g.AddOrReplaceLinuxNamespace("user", "")
		g.AddLinuxUIDMapping(1000, 0, 1000)
		g.AddLinuxGIDMapping(1000, 0, 1000)
	}},
	{"memory-limit-v1-view", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes", "67108864", func(g *generate.Generator) {
		cgroupMount(g)
		g.SetLinuxResourcesMemoryLimit(64 << 20)
	}},
	{"kernel-tcp-memory", "cat /sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes", "33554432", func(g *generate.Generator) {
		cgroupMount(g)
		g.SetLinuxResourcesMemoryLimit(128 << 20)
		g.SetLinuxResourcesMemoryKernelTCP(32 << 20)
	}},
	{"pids-limit", "cat /sys/fs/cgroup/pids/pids.max", "55", func(g *generate.Generator) {
		cgroupMount(g)
		g.SetLinuxResourcesPidsLimit(55)
	}},
	{"systemd-hierarchy-own", "test -e /sys/fs/cgroup/systemd/release_agent && echo host || echo own", "own", cgroupMount},
	{"masked-path", "test -s /proc/kcore && echo visible || echo masked", "masked",
		func(g *generate.Generator) { g.AddLinuxMaskedPaths("/proc/kcore") }},
	{"readonly-path", "touch /proc/sys/kernel/x 2>/dev/null; echo 1 > /proc/sys/vm/swappiness 2>/dev/null || echo ro", "ro",
		func(g *generate.Generator) { g.AddLinuxReadonlyPaths("/proc/sys") }},
	{"sysctl", "cat /proc/sys/net/ipv4/ip_forward", "1",
		func(g *generate.Generator) { g.AddLinuxSysctl("net.ipv4.ip_forward", "1") }},
	{"rlimit", "ulimit -n", "777", func(g *generate.Generator) { g.AddProcessRlimits("RLIMIT_NOFILE", 777, 777) }},
	{"capabilities", "grep CapEff: /proc/self/status | tr -d '\\t '", "CapEff:0000000000000020", func(g *generate.Generator) {
		g.ClearProcessCapabilities()
		g.AddProcessCapability("CAP_KILL")
	}},
	{"device", "test -c /dev/cvfull && echo dev", "dev", func(g *generate.Generator) {
		mode := os.FileMode(0o666)
		g.AddDevice(rspec.LinuxDevice{Path: "/dev/cvfull", Type: "c", Major: 1, Minor: 7, FileMode: &mode})
	}},
	{"oom-score-adj", "cat /proc/self/oom_score_adj", "123", func(g *generate.Generator) { g.SetProcessOOMScoreAdj(123) }},
	{"umask", "umask", "0027", func(g *generate.Generator) {
		m := uint32(0o027)
		g.Config.Process.User.Umask = &m
	}},
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen OUTDIR ROOTFS")
		os.Exit(2)
	}
	out, rootfs := os.Args[1], os.Args[2]
	for _, c := range cases {
		g, err := generate.New("linux")
		if err != nil {
			panic(err)
		}
		g.SetRootPath(rootfs)
		g.SetProcessTerminal(false)
		g.SetProcessArgs([]string{"sh", "-c", c.probe})
		if c.edit != nil {
			c.edit(&g)
		}
		dir := filepath.Join(out, c.name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			panic(err)
		}
		b, err := json.MarshalIndent(g.Config, "", "\t")
		if err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "expect"), []byte(c.expect+"\n"), 0o600); err != nil {
			panic(err)
		}
	}
}
