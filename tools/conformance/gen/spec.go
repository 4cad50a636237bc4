package main

// `gen spec`: one bundle for a lifecycle case (lifecycle.sh), from the
// suite's default generator plus options that need values only known
// while the case runs (a namespace's path, a hook's output file).
//
//	ns=TYPE:PATH      namespace TYPE (generate's names: network, mount, ...)
//	                  joined by PATH, or a new one when PATH is empty
//	nons              no namespaces at all, no hostname (linux_ns_itype)
//	cgroup=PATH       linux.cgroupsPath
//	pids=N            linux.resources.pids.limit
//	hook=KIND:SCRIPT  a hook of KIND (prestart, poststart, poststop, ...)
//	                  running `/bin/sh -c SCRIPT` on the host
//	annotation=K=V    an annotation
//	noprocess         no `process` at all

import (
	"fmt"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func writeSpec(dir, rootfs string, opts []string) error {
	var args []string
	for i, o := range opts {
		if o == "--" {
			args = opts[i+1:]
			opts = opts[:i]
			break
		}
	}
	if len(args) == 0 {
		return fmt.Errorf("spec: no process args after --")
	}
	g := newGenerator(rootfs, args...)
	timeout := 10
	for _, o := range opts {
		key, val, _ := strings.Cut(o, "=")
		switch key {
		case "ns":
			typ, path, _ := strings.Cut(val, ":")
			if err := g.AddOrReplaceLinuxNamespace(typ, path); err != nil {
				return err
			}
		case "nons":
			g.ClearLinuxNamespaces()
			g.RemoveHostname()
		case "cgroup":
			g.SetLinuxCgroupsPath(val)
		case "pids":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return fmt.Errorf("spec: pids=%q: %v", val, err)
			}
			g.SetLinuxResourcesPidsLimit(n)
		case "hook":
			kind, script, _ := strings.Cut(val, ":")
			h := rspec.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Timeout: &timeout}
			switch kind {
			case "prestart":
				g.AddPreStartHook(h)
			case "poststart":
				g.AddPostStartHook(h)
			case "poststop":
				g.AddPostStopHook(h)
			default:
				return fmt.Errorf("spec: unknown hook kind %q", kind)
			}
		case "annotation":
			k, v, _ := strings.Cut(val, "=")
			g.AddAnnotation(k, v)
		case "noprocess":
			g.Config.Process = nil
		default:
			return fmt.Errorf("spec: unknown option %q", o)
		}
	}
	return save(dir, g, nil)
}
