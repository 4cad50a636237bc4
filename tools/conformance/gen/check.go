package main

// What the suite checks from outside the container: the cgroup values
// (read with runtime-tools' own cgroups package, as linux_cgroups_* do)
// and the state a hook received on stdin (hooks_stdin).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/cgroups"
)

type checker struct{ bad []string }

func (c *checker) eq(what string, want, got interface{}) {
	if !reflect.DeepEqual(want, got) {
		c.bad = append(c.bad, fmt.Sprintf("%s: want %v, got %v", what, want, got))
	}
}

func (c *checker) fail(what string, err error) {
	c.bad = append(c.bad, fmt.Sprintf("%s: %v", what, err))
}

func deref(p interface{}) interface{} {
	v := reflect.ValueOf(p)
	if v.Kind() == reflect.Ptr {
		if v.IsNil() {
			return nil
		}
		return v.Elem().Interface()
	}
	return p
}

// cgroupDir is where the container's cgroup of one v1 subsystem is, the
// way the cgroups package finds it.
func cgroupDir(mount, sub string, pid int, cgPath string) (string, error) {
	if filepath.IsAbs(cgPath) {
		return filepath.Join(mount, sub, cgPath), nil
	}
	p, err := cgroups.GetSubsystemPath(pid, sub)
	if err != nil {
		return "", err
	}
	if !strings.Contains(p, cgPath) {
		return "", fmt.Errorf("%s cgroup %s is not below %s", sub, p, cgPath)
	}
	return filepath.Join(mount, sub, p), nil
}

func cgcheck(bundle, pidArg string) error {
	pid, err := strconv.Atoi(pidArg)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return err
	}
	var spec rspec.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return err
	}
	cg, err := cgroups.FindCgroup()
	if err != nil {
		return err
	}
	v1, ok := cg.(*cgroups.CgroupV1)
	if !ok {
		return fmt.Errorf("not a cgroup v1 host")
	}
	path := spec.Linux.CgroupsPath
	r := spec.Linux.Resources
	c := &checker{}
	if m := r.Memory; m != nil {
		if lm, err := cg.GetMemoryData(pid, path); err != nil {
			c.fail("memory", err)
		} else {
			c.eq("memory.limit", deref(m.Limit), deref(lm.Limit))
			c.eq("memory.reservation", deref(m.Reservation), deref(lm.Reservation))
			c.eq("memory.swap", deref(m.Swap), deref(lm.Swap))
			c.eq("memory.kernel", deref(m.Kernel), deref(lm.Kernel))
			c.eq("memory.kernelTCP", deref(m.KernelTCP), deref(lm.KernelTCP))
			c.eq("memory.swappiness", deref(m.Swappiness), deref(lm.Swappiness))
			c.eq("memory.disableOOMKiller", deref(m.DisableOOMKiller), deref(lm.DisableOOMKiller))
		}
	}
	if cpu := r.CPU; cpu != nil {
		if lc, err := cg.GetCPUData(pid, path); err != nil {
			c.fail("cpu", err)
		} else {
			if cpu.Shares != nil {
				c.eq("cpu.shares", *cpu.Shares, deref(lc.Shares))
			}
			if cpu.Quota != nil {
				c.eq("cpu.quota", *cpu.Quota, deref(lc.Quota))
			}
			if cpu.Period != nil {
				c.eq("cpu.period", *cpu.Period, deref(lc.Period))
			}
			if cpu.Cpus != "" {
				c.eq("cpu.cpus", cpu.Cpus, lc.Cpus)
			}
			if cpu.Mems != "" {
				c.eq("cpu.mems", cpu.Mems, lc.Mems)
			}
		}
		// The package reads realtime values from /proc (the host's); the
		// cgroup's own files are what the runtime wrote.
		if cpu.RealtimePeriod != nil || cpu.RealtimeRuntime != nil {
			dir, err := cgroupDir(v1.MountPath, "cpu", pid, path)
			if err != nil {
				c.fail("cpu.rt", err)
			} else {
				if cpu.RealtimePeriod != nil {
					c.eq("cpu.rt_period_us", strconv.FormatUint(*cpu.RealtimePeriod, 10), readTrim(dir, "cpu.rt_period_us"))
				}
				if cpu.RealtimeRuntime != nil {
					c.eq("cpu.rt_runtime_us", strconv.FormatInt(*cpu.RealtimeRuntime, 10), readTrim(dir, "cpu.rt_runtime_us"))
				}
			}
		}
	}
	if p := r.Pids; p != nil {
		if lp, err := cg.GetPidsData(pid, path); err != nil {
			c.fail("pids", err)
		} else {
			c.eq("pids.limit", p.Limit, lp.Limit)
		}
	}
	// "The runtime MUST apply entries in the listed order": the allowed
	// entries appear in devices.list in the spec's order.
	if allowed := allowedDevices(r.Devices); len(allowed) > 0 {
		if ld, err := cg.GetDevicesData(pid, path); err != nil {
			c.fail("devices", err)
		} else {
			got := make([]string, 0, len(ld))
			for _, d := range ld {
				got = append(got, devRule(d))
			}
			i := 0
			for _, g := range got {
				if i < len(allowed) && g == allowed[i] {
					i++
				}
			}
			if i < len(allowed) {
				c.eq("devices.list (allowed entries in order)", allowed, got)
			}
		}
	}
	if bio := r.BlockIO; bio != nil {
		dir, err := cgroupDir(v1.MountPath, "blkio", pid, path)
		if err != nil {
			c.fail("blkio", err)
		} else {
			throttle(c, dir, "blkio.throttle.read_bps_device", bio.ThrottleReadBpsDevice)
			throttle(c, dir, "blkio.throttle.write_bps_device", bio.ThrottleWriteBpsDevice)
			throttle(c, dir, "blkio.throttle.read_iops_device", bio.ThrottleReadIOPSDevice)
			throttle(c, dir, "blkio.throttle.write_iops_device", bio.ThrottleWriteIOPSDevice)
		}
	}
	if len(c.bad) > 0 {
		fmt.Println(strings.Join(c.bad, "; "))
		return nil
	}
	fmt.Println("ok")
	return nil
}

func readTrim(dir, file string) string {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b))
}

func allowedDevices(rules []rspec.LinuxDeviceCgroup) []string {
	var out []string
	for _, d := range rules {
		if d.Allow {
			out = append(out, devRule(d))
		}
	}
	return out
}

func devRule(d rspec.LinuxDeviceCgroup) string {
	num := func(p *int64) string {
		if p == nil || *p < 0 {
			return "*"
		}
		return strconv.FormatInt(*p, 10)
	}
	return fmt.Sprintf("%s %s:%s %s", d.Type, num(d.Major), num(d.Minor), d.Access)
}

func throttle(c *checker, dir, file string, want []rspec.LinuxThrottleDevice) {
	if len(want) == 0 {
		return
	}
	have := readTrim(dir, file)
	for _, t := range want {
		line := fmt.Sprintf("%d:%d %d", t.Major, t.Minor, t.Rate)
		if !strings.Contains("\n"+have+"\n", "\n"+line+"\n") {
			c.eq(file, line, have)
		}
	}
}

// hookState checks the state a hook wrote from its stdin (hooks_stdin):
// the container's id, bundle, pid (not for poststop) and annotations, and
// the status the runtime spec names for that hook.
func hookState(file, id, bundle, pidArg, status string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Println(err)
		return nil
	}
	var st rspec.State
	if err := json.Unmarshal(b, &st); err != nil {
		fmt.Printf("not JSON state: %v: %q\n", err, b)
		return nil
	}
	c := &checker{}
	c.eq("id", id, st.ID)
	c.eq("bundle", bundle, st.Bundle)
	if pidArg != "-" {
		c.eq("pid", pidArg, strconv.Itoa(st.Pid))
	}
	if status != "-" {
		c.eq("status", status, string(st.Status))
	} else if st.Status == "" {
		c.fail("status", fmt.Errorf("empty"))
	}
	c.eq("annotations", map[string]string{"org.cvconformance.hook": "stdin test"}, st.Annotations)
	if st.Version == "" {
		c.fail("ociVersion", fmt.Errorf("empty"))
	}
	if len(c.bad) > 0 {
		fmt.Println(strings.Join(c.bad, "; "))
		return nil
	}
	fmt.Println("ok")
	return nil
}

// field prints one top-level field of the JSON object on stdin (`state`'s
// output): strings as they are, anything else as JSON.
func field(name string) error {
	var m map[string]interface{}
	if err := json.NewDecoder(os.Stdin).Decode(&m); err != nil {
		return err
	}
	switch v := m[name].(type) {
	case nil:
	case string:
		fmt.Println(v)
	case float64:
		fmt.Println(strconv.FormatFloat(v, 'f', -1, 64))
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fmt.Println(string(b))
	}
	return nil
}
