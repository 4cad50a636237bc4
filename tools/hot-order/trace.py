#!/usr/bin/env python3
"""Which functions of a static binary a command runs, in first-run order.

Used by tools/hot-order/profile.sh to make the runtime's link order file
(see that script for why). Every function entry of BINARY (from `nm`)
gets a one-shot breakpoint (int3) in the traced processes; the first hit
records the function, puts the original byte back in that process and
goes on. Forks and clones are followed (PTRACE_O_TRACECLONE/FORK/VFORK)
and keep the breakpoints not hit yet; a process that executes another
program (the container's /bin/true) is let go at its exec. When COMMAND
itself ends, what it left running (the init of a created container,
waiting for `start`) is stopped, given its original code back and let go.

    trace.py BINARY OUT -- COMMAND [ARG...]

appends to OUT the mangled names of the functions not already in it, in
the order they first ran, and exits with COMMAND's exit status. Linux
x86-64 only; needs ptrace over COMMAND (root, or COMMAND our child).
A re-execution of BINARY (the runtime's sealed copy: the same file
through a read-only mount) is armed again, recognised by its inode.
"""

import ctypes
import os
import signal
import struct
import subprocess
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]

PTRACE_TRACEME, PTRACE_CONT, PTRACE_DETACH = 0, 7, 17
PTRACE_GETREGS, PTRACE_SETREGS, PTRACE_SETOPTIONS = 12, 13, 0x4200
O_TRACEFORK, O_TRACEVFORK, O_TRACECLONE, O_TRACEEXEC, O_EXITKILL = 2, 4, 8, 0x10, 0x100000
EV_FORK, EV_VFORK, EV_CLONE, EV_EXEC = 1, 2, 3, 4
WALL = 0x40000000
RIP = 16  # index of rip in struct user_regs_struct (x86-64)


class Regs(ctypes.Structure):
    _fields_ = [("r", ctypes.c_ulonglong * 27)]


def ptrace(req, pid, addr=0, data=0):
    r = libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    if r == -1:
        e = ctypes.get_errno()
        raise OSError(e, f"ptrace({req}, {pid}): {os.strerror(e)}")
    return r


def functions(binary):
    """(address, name) of every sized function symbol, by address."""
    out = subprocess.run(
        ["nm", "-S", "--defined-only", binary], check=True, capture_output=True, text=True
    ).stdout
    seen = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[2] not in "tTwW":
            continue
        addr, size = int(parts[0], 16), int(parts[1], 16)
        if size == 0:
            continue
        seen.setdefault(addr, parts[3])
    return seen


def text_segment(binary):
    """(vaddr, file offset, size) of the executable PT_LOAD."""
    with open(binary, "rb") as f:
        hdr = f.read(64)
        phoff, = struct.unpack_from("<Q", hdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", hdr, 54)
        f.seek(phoff)
        for _ in range(phnum):
            ph = f.read(phentsize)
            ptype, flags, off, vaddr, _pa, filesz = struct.unpack_from("<IIQQQQ", ph, 0)
            if ptype == 1 and flags & 1:
                return vaddr, off, filesz
    raise SystemExit(f"{binary}: no executable segment")


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        raise SystemExit(__doc__)
    binary, out, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    funcs = functions(binary)
    vaddr, off, size = text_segment(binary)
    with open(binary, "rb") as f:
        f.seek(off)
        text = bytearray(f.read(size))
    patched = bytearray(text)
    for a in funcs:
        if vaddr <= a < vaddr + size:
            patched[a - vaddr] = 0xCC

    pid = os.fork()
    if pid == 0:
        ptrace(PTRACE_TRACEME, 0)
        os.execvp(cmd[0], cmd)
    _, status = os.waitpid(pid, WALL)
    if not os.WIFSTOPPED(status):
        raise SystemExit("trace.py: the command did not start")
    ptrace(PTRACE_SETOPTIONS, pid, 0,
           O_TRACEFORK | O_TRACEVFORK | O_TRACECLONE | O_TRACEEXEC)
    # The first stop is after the exec of COMMAND: if it is BINARY
    # itself, arm it now; otherwise (a wrapper) arm at its exec of BINARY.
    armed = set()
    exe_ino = os.stat(binary).st_ino

    def runs_binary(p):
        try:
            return os.stat(f"/proc/{p}/exe").st_ino == exe_ino
        except OSError:
            return False

    def disarm(p):
        with open(f"/proc/{p}/mem", "r+b", buffering=0) as m:
            m.seek(vaddr)
            m.write(text)
        armed.discard(p)

    def arm(p):
        with open(f"/proc/{p}/mem", "r+b", buffering=0) as m:
            m.seek(vaddr)
            m.write(patched)
        armed.add(p)

    if runs_binary(pid):
        arm(pid)
    hits = []
    hit = set()
    first = pid
    exit_status = 1
    live = {pid}
    draining = False
    let_go = []
    regs = Regs()
    ptrace(PTRACE_CONT, pid)
    while True:
        try:
            p, status = os.waitpid(-1, WALL)
        except ChildProcessError:
            break
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            armed.discard(p)
            live.discard(p)
            if p == first:
                exit_status = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
                draining = True
                for q in live:
                    try:
                        os.kill(q, signal.SIGSTOP)
                    except ProcessLookupError:
                        pass
            if draining and not live:
                break
            continue
        live.add(p)
        sig = os.WSTOPSIG(status)
        event = status >> 16
        deliver = 0
        if event in (EV_FORK, EV_VFORK, EV_CLONE):
            # The new task inherits our breakpoints (memory copy or share).
            pass
        elif event == EV_EXEC:
            if runs_binary(p):
                arm(p)
            else:
                armed.discard(p)
                live.discard(p)
                ptrace(PTRACE_DETACH, p)
                if draining and not live:
                    break
                continue
        elif sig == signal.SIGTRAP:
            ptrace(PTRACE_GETREGS, p, 0, ctypes.addressof(regs))
            at = regs.r[RIP] - 1
            if at in funcs and vaddr <= at < vaddr + size:
                name = funcs[at]
                if name not in hit:
                    hit.add(name)
                    hits.append(name)
                with open(f"/proc/{p}/mem", "r+b", buffering=0) as m:
                    m.seek(at)
                    m.write(bytes([text[at - vaddr]]))
                regs.r[RIP] = at
                ptrace(PTRACE_SETREGS, p, 0, ctypes.addressof(regs))
            else:
                deliver = sig
        elif sig == signal.SIGSTOP and p not in armed and p != first:
            # A new task's first stop.
            armed.add(p)
        else:
            deliver = sig
        if draining:
            # Let it go with its own code back; the SIGSTOP that stopped
            # it may still be pending: SIGCONT below discards it.
            if p in armed:
                disarm(p)
            live.discard(p)
            let_go.append(p)
            try:
                ptrace(PTRACE_DETACH, p, 0, 0)
            except OSError:
                pass
            if not live:
                break
            continue
        try:
            ptrace(PTRACE_CONT, p, 0, deliver)
        except OSError:
            pass

    for p in let_go:
        try:
            os.kill(p, signal.SIGCONT)
        except OSError:
            pass

    known = set()
    if os.path.exists(out):
        with open(out) as f:
            known = {l.strip() for l in f}
    with open(out, "a") as f:
        for n in hits:
            if n not in known:
                f.write(n + "\n")
    sys.exit(exit_status)


if __name__ == "__main__":
    main()
