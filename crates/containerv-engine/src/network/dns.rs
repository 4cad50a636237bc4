//! Name resolution on user-defined networks through DNS, as docker's
//! embedded DNS and podman's aardvark-dns do: one small server per engine
//! root (`cv __dns ROOT`, or `cv-monitor __dns ROOT`), listening on UDP
//! port 53 of the gateway address of every user network that has
//! containers. A query that arrives on network N's address from a
//! container of N is answered from the records of the networks that
//! container is on (container names, `--network-alias`es, short ids; A
//! and, on `--ipv6` networks, AAAA records), so
//! names do not cross networks; other names are forwarded to the
//! host's resolvers (the host's resolv.conf without loopback servers, or
//! `CONTAINERV_DNS_UPSTREAM=ADDR,…|none`; never for a container that is
//! only on `--internal` networks). The records are read at each
//! query (they are small and replaced atomically), so `network connect`
//! and `disconnect` of running containers are followed with no signal.
//!
//! Why our own and not aardvark-dns: aardvark needs its own config files
//! kept in step with the records and a signal per change, and forwards
//! every name it does not know to the host's resolvers (a test could not
//! ask for a name of another network without querying a real resolver);
//! this server is ~200 lines over the records the engine already keeps,
//! costs nothing on the default `bridge` network (which resolves no names,
//! as docker's) and, per container on a user network, one signal.
//!
//! The same process serves `[::1]` for the published ports of
//! containers with an IPv6 address (`v6proxy`: IPv6 cannot DNAT loopback
//! out of the host).
//!
//! Lifecycle: the monitor makes sure the server runs and listens on the
//! network's gateway before the container starts ([`ensure`]); the server
//! holds `<root>/networks/.dns.lock` (one per root) and its pid is in
//! `.dns.pid`. A SIGHUP (sent on every join and leave) makes it re-read
//! which addresses to listen on; with none left it exits, so an idle
//! engine runs no process.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::network::dns_wire::{self, Question};
use crate::network::record::{NetworkRecord, NetworkStore};
use crate::network::DEFAULT_NETWORK;

/// The hidden first argument of the server's process.
pub const DNS_ARG: &str = "__dns";

/// Answers' time to live (docker's embedded DNS uses 600 s; containers
/// come and go, so short).
const TTL: u32 = 10;

fn pid_file(root: &Path) -> PathBuf {
    root.join("networks").join(".dns.pid")
}

fn lock_file(root: &Path) -> PathBuf {
    root.join("networks").join(".dns.lock")
}

/// True when a network of this kind gets the DNS server: user-defined
/// (an `--internal` one too: its bridge has the gateway address for DNS
/// only, see `nft`; docker resolves names on internal networks too).
pub fn serves(rec: &NetworkRecord) -> bool {
    rec.name != DEFAULT_NETWORK
}

/// The addresses to answer names of, with their network's name.
fn wanted(root: &Path) -> Vec<(Ipv4Addr, String)> {
    NetworkStore::new(root)
        .list()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| serves(r) && !r.leases.is_empty())
        .map(|r| (r.gateway, r.name))
        .collect()
}

/// The addresses (IPv4, and IPv6 on `--ipv6` networks) of the container
/// named `name` on network `rec`.
pub fn lookup(rec: &NetworkRecord, name: &str) -> Vec<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    rec.leases
        .iter()
        .filter(|(_, l)| {
            l.name.eq_ignore_ascii_case(&name)
                || l.aliases.iter().any(|a| a.eq_ignore_ascii_case(&name))
                || (name.len() == 12 && l.container.starts_with(&name))
        })
        .flat_map(|(a, l)| std::iter::once(IpAddr::V4(*a)).chain(l.ip6.map(IpAddr::V6)))
        .collect()
}

/// `name` as asked by `from` on network `net`: from the records of the
/// networks the asking container is on (found by its address on `net`),
/// so a container connected to two networks resolves both and nobody
/// resolves a network it is not on.
fn resolve(root: &Path, net: &str, from: SocketAddr, name: &str) -> Vec<IpAddr> {
    let ns = NetworkStore::new(root);
    let Some(rec) = ns.load(net).ok().flatten() else {
        return vec![];
    };
    let std::net::IpAddr::V4(src) = from.ip() else {
        return vec![];
    };
    let Some(asker) = rec.leases.get(&src).map(|l| l.container.clone()) else {
        return vec![];
    };
    let mut found = lookup(&rec, name);
    if found.is_empty() {
        for other in ns.list().unwrap_or_default() {
            if other.name != rec.name && serves(&other) && other.lease_of(&asker).is_some() {
                found.extend(lookup(&other, name));
            }
        }
    }
    found
}

/// True when a query from `from` on network `net` may go to the host's
/// resolvers: not when it came from a container that is only on
/// `--internal` networks (a way out for a network with none; docker's
/// embedded DNS does not forward for those either).
fn may_forward(root: &Path, net: &str, from: SocketAddr) -> bool {
    let ns = NetworkStore::new(root);
    let Some(rec) = ns.load(net).ok().flatten() else {
        return false;
    };
    if !rec.internal {
        return true;
    }
    let std::net::IpAddr::V4(src) = from.ip() else {
        return false;
    };
    let Some(asker) = rec.leases.get(&src).map(|l| l.container.clone()) else {
        return false;
    };
    ns.list()
        .unwrap_or_default()
        .iter()
        .any(|r| !r.internal && r.lease_of(&asker).is_some())
}

/// Where names that are not containers go.
fn upstreams() -> Vec<SocketAddr> {
    let list = match std::env::var("CONTAINERV_DNS_UPSTREAM") {
        Ok(v) if v == "none" => return vec![],
        Ok(v) => v,
        Err(_) => std::fs::read_to_string("/etc/resolv.conf")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("nameserver"))
            .map(|a| a.trim().to_string())
            .collect::<Vec<_>>()
            .join(","),
    };
    list.split(',')
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .filter(|ip| !ip.is_loopback())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

static HUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_hup(_: libc::c_int) {
    HUP.store(true, Ordering::Relaxed);
}

/// The server's process: detaches (the caller waits for the first
/// process only), takes the root's lock (another server there: exit),
/// then serves until no address is wanted.
pub fn main(root: &Path) -> ! {
    // SAFETY: a single-threaded process at start; the child carries on.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => std::process::exit(0),
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(_) => std::process::exit(1),
    }
    let _ = nix::unistd::setsid();
    // Nothing of the monitor's reaches the server: its descriptors (the
    // ready pipe to a `cv run` would stay open) and its blocked signals.
    if let Ok(d) = std::fs::read_dir("/proc/self/fd") {
        let fds: Vec<i32> = d
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|fd| *fd > 2)
            .collect();
        for fd in fds {
            // SAFETY: closing inherited descriptors nothing here uses (the
            // directory's own descriptor may be among them: harmless).
            unsafe { libc::close(fd) };
        }
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
    let Ok(lock) = std::fs::File::create(lock_file(root)) else {
        std::process::exit(1)
    };
    // Held until the process ends: one server per root.
    let Ok(_held) = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock)
    else {
        std::process::exit(0)
    };
    let _ = std::fs::write(pid_file(root), std::process::id().to_string());
    let sa = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_hup),
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic.
    let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGHUP, &sa) };
    serve(root);
    let _ = std::fs::remove_file(pid_file(root));
    std::process::exit(0)
}

fn serve(root: &Path) {
    let ups = upstreams();
    let mut socks: Vec<(Ipv4Addr, String, UdpSocket)> = Vec::new();
    let mut proxies = crate::network::v6proxy::Proxies::default();
    let mut last_sync = Instant::now() - Duration::from_secs(10);
    loop {
        if HUP.swap(false, Ordering::Relaxed) || last_sync.elapsed() > Duration::from_secs(2) {
            let want = wanted(root);
            socks.retain(|(a, n, _)| want.iter().any(|(wa, wn)| wa == a && wn == n));
            for (a, n) in want {
                if !socks.iter().any(|(sa, _, _)| *sa == a) {
                    if let Ok(s) = UdpSocket::bind((a, 53)) {
                        socks.push((a, n, s));
                    }
                }
            }
            proxies.sync(&crate::network::v6proxy::wanted(root));
            if socks.is_empty() && proxies.is_empty() {
                return;
            }
            last_sync = Instant::now();
        }
        let mut fds: Vec<nix::poll::PollFd> = socks
            .iter()
            .map(|(_, _, s)| s.as_fd())
            .chain(proxies.fds())
            .map(|fd| nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN))
            .collect();
        let n = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(1000u16)).unwrap_or(0);
        if n <= 0 {
            continue;
        }
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        for i in ready {
            if i >= socks.len() {
                proxies.accept(i - socks.len());
                continue;
            }
            let (_, net, s) = &socks[i];
            let mut buf = [0u8; 1500];
            let Ok((len, from)) = s.recv_from(&mut buf) else {
                continue;
            };
            let Some(q) = dns_wire::parse_query(&buf[..len]) else {
                continue;
            };
            let found = resolve(root, net, from, &q.name);
            if !found.is_empty() {
                // A or AAAA records of the name; an empty NOERROR for
                // other types (and for AAAA of an IPv4-only container).
                let addrs: Vec<IpAddr> = found
                    .into_iter()
                    .filter(|a| match a {
                        IpAddr::V4(_) => q.qtype == dns_wire::TYPE_A,
                        IpAddr::V6(_) => q.qtype == dns_wire::TYPE_AAAA,
                    })
                    .collect();
                let _ = s.send_to(&dns_wire::answer(&q, &addrs, 0, TTL), from);
            } else if let (Some(up), true, Ok(reply)) = (
                ups.first().copied(),
                may_forward(root, net, from),
                s.try_clone(),
            ) {
                let query = buf[..len].to_vec();
                std::thread::spawn(move || forward(&query, &q, up, &reply, from));
            } else {
                let _ = s.send_to(
                    &dns_wire::answer(&q, &[], dns_wire::RCODE_NXDOMAIN, 0),
                    from,
                );
            }
        }
    }
}

/// One query to the upstream resolver and its answer relayed back.
fn forward(query: &[u8], q: &Question, up: SocketAddr, reply: &UdpSocket, to: SocketAddr) {
    let out = (|| {
        let s = UdpSocket::bind("0.0.0.0:0").ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        s.send_to(query, up).ok()?;
        let mut buf = [0u8; 4096];
        let (n, _) = s.recv_from(&mut buf).ok()?;
        Some(buf[..n].to_vec())
    })();
    let msg = out.unwrap_or_else(|| dns_wire::answer(q, &[], dns_wire::RCODE_SERVFAIL, 0));
    let _ = reply.send_to(&msg, to);
}

fn server_pid(root: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file(root))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // Alive and ours: its command line names the root.
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmd = String::from_utf8_lossy(&cmd);
    (cmd.contains(DNS_ARG) && cmd.contains(root.to_string_lossy().as_ref())).then_some(pid)
}

/// Tells the server (if any) that the networks changed.
pub fn nudge(root: &Path) {
    if let Some(pid) = server_pid(root) {
        // SAFETY: a signal to the process whose pid file and command line
        // are this root's server.
        unsafe { libc::kill(pid, libc::SIGHUP) };
    }
}

/// True when something listens on UDP `addr`:53 (this netns).
fn bound(addr: Ipv4Addr) -> bool {
    let want = format!("{:08X}:0035", u32::from_ne_bytes(addr.octets()));
    std::fs::read_to_string("/proc/net/udp")
        .map(|t| {
            t.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(&want))
        })
        .unwrap_or(false)
}

/// The program this process was started as (`argv[0]`: the monitor runs
/// from a sealed copy, whose /proc/self/exe is no path to start again).
fn own_program() -> crate::Result<PathBuf> {
    let argv0 = std::env::args_os().next().map(PathBuf::from);
    match argv0 {
        Some(p) if p.is_absolute() && p.is_file() => Ok(p),
        _ => std::env::current_exe()
            .map_err(|e| crate::Error::sys("find the engine's own program", e)),
    }
}

/// Makes sure the root's server runs and answers on `gateway` (waits up
/// to 2 s). `exe` is the program that has a `__dns` entry (cv or
/// cv-monitor).
pub fn ensure(root: &Path, gateway: Ipv4Addr) -> crate::Result<()> {
    let end = Instant::now() + Duration::from_secs(2);
    let mut asked = false;
    loop {
        if bound(gateway) {
            return Ok(());
        }
        match server_pid(root) {
            Some(_) if asked => {}
            Some(_) => {
                nudge(root);
                asked = true;
            }
            None => {
                let exe = own_program()?;
                let log = std::fs::File::create(root.join("networks").join(".dns.log"))
                    .map_err(|e| crate::Error::sys("create the DNS server's log", e))?;
                let st = std::process::Command::new(&exe)
                    .arg(DNS_ARG)
                    .arg(root)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(log)
                    .status()
                    .map_err(|e| crate::Error::sys("start the DNS server", e))?;
                if !st.success() {
                    return Err(crate::Error::sys(
                        "start the DNS server",
                        std::io::Error::other(format!("{} {DNS_ARG}: {st}", exe.display())),
                    ));
                }
                asked = true;
            }
        }
        if Instant::now() > end {
            return Err(crate::Error::sys(
                format!("the DNS server does not answer on {gateway}:53"),
                std::io::Error::from_raw_os_error(libc::ETIMEDOUT),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
