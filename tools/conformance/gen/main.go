// gen writes OCI bundles the way the runtime-tools validation programs
// write theirs: runtime-tools' own generator (generate.New("linux"), the
// Debian package golang-github-opencontainers-runtime-tools-dev) and
// encoding/json, so every spec has Go's omitempty shape. It also reads
// back what the suite reads back from outside a container (cgroups,
// through runtime-tools' own cgroups package; the state hooks get on
// stdin).
//
//	gen bundles OUTDIR ROOTFS CGABS CGREL   one bundle per case (cases.go)
//	gen spec DIR ROOTFS [OPTION...] -- ARG... one bundle for lifecycle.sh (spec.go)
//	gen cgcheck BUNDLE PID                  cgroup values vs the spec (check.go)
//	gen hookstate FILE ID BUNDLE PID STATUS the state a hook got (check.go)
//	gen field NAME < STATE                  one field of `state`'s JSON
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-tools/generate"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gen bundles OUTDIR ROOTFS CGABS CGREL | spec DIR ROOTFS [OPTION...] -- ARG... | cgcheck BUNDLE PID | hookstate FILE ID BUNDLE PID STATUS | field NAME")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch a := os.Args[2:]; os.Args[1] {
	case "bundles":
		if len(a) != 4 {
			usage()
		}
		err = writeBundles(a[0], a[1], a[2], a[3])
	case "spec":
		if len(a) < 2 {
			usage()
		}
		err = writeSpec(a[0], a[1], a[2:])
	case "cgcheck":
		if len(a) != 2 {
			usage()
		}
		err = cgcheck(a[0], a[1])
	case "hookstate":
		if len(a) != 5 {
			usage()
		}
		err = hookState(a[0], a[1], a[2], a[3], a[4])
	case "field":
		if len(a) != 1 {
			usage()
		}
		err = field(a[0])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// newGenerator is the suite's default generator with our rootfs and a
// non-terminal process.
func newGenerator(rootfs string, args ...string) *generate.Generator {
	g, err := generate.New("linux")
	if err != nil {
		panic(err)
	}
	g.SetRootPath(rootfs)
	g.SetProcessTerminal(false)
	g.SetProcessArgs(args)
	return &g
}

// save writes config.json as Go marshals it, with raw edits applied at
// the JSON level.
func save(dir string, g *generate.Generator, raw func(map[string]interface{})) error {
	b, err := json.MarshalIndent(g.Config, "", "\t")
	if err != nil {
		return err
	}
	if raw != nil {
		var m map[string]interface{}
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		raw(m)
		if b, err = json.MarshalIndent(m, "", "\t"); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

// firstDisk is a real block device's major:minor for blkio throttling.
func firstDisk() (int64, int64) {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/sys/block", n, "dev"))
		if err != nil {
			continue
		}
		mm := strings.SplitN(strings.TrimSpace(string(b)), ":", 2)
		if len(mm) != 2 {
			continue
		}
		maj, err1 := strconv.ParseInt(mm[0], 10, 64)
		min, err2 := strconv.ParseInt(mm[1], 10, 64)
		if err1 == nil && err2 == nil {
			return maj, min
		}
	}
	return -1, -1
}

func writeBundles(out, rootfs, cgAbs, cgRel string) error {
	env := &genEnv{rootfs: rootfs, cgAbs: cgAbs, cgRel: cgRel}
	env.blkMajor, env.blkMinor = firstDisk()
	for _, c := range cases {
		if strings.HasPrefix(c.name, "cgroups-blkio") && env.blkMajor < 0 {
			fmt.Fprintf(os.Stderr, "gen: %s skipped: no disk in /sys/block\n", c.name)
			continue
		}
		if c.prep != nil {
			if err := c.prep(rootfs); err != nil {
				return fmt.Errorf("%s: %v", c.name, err)
			}
		}
		probe := c.probe
		if c.kind == kindCgroup && probe == "" {
			probe = "sleep 30"
		} else if probe == "" {
			probe = "true"
		}
		g := newGenerator(rootfs, "sh", "-c", probe)
		if c.edit != nil {
			c.edit(g, env)
		}
		dir := filepath.Join(out, c.name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		if err := save(dir, g, c.raw); err != nil {
			return err
		}
		kind := c.kind
		if kind == "" {
			kind = kindRun
		}
		expect := c.expect
		if kind == kindCgroup {
			expect = "ok"
		}
		if err := os.WriteFile(filepath.Join(dir, "kind"), []byte(kind+"\n"), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "expect"), []byte(expect+"\n"), 0o600); err != nil {
			return err
		}
	}
	return nil
}
