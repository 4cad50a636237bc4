/*
 * containerv: create containers, spawn processes into them, enforce
 * resource limits and read monitoring figures.
 *
 * The C API of the containerv library (crates/containerv-capi, built as
 * libcontainerv.so / libcontainerv.a, containerv.dll on Windows), with the
 * names, types and structure layouts of the original chef containerv
 * <chef/containerv.h>, so its callers compile and link unchanged. Linux:
 * namespaces and cgroups (v1, hybrid, v2). Windows: Job Objects.
 *
 * Conventions
 * - Functions returning int return 0 (or a count) on success and -1 on
 *   failure with errno set (EINVAL bad argument, ENOENT no such container,
 *   EEXIST id in use, ENOTSUP not supported here, ECHILD not a process
 *   spawned through this handle, EIO internal error, or the system call's
 *   own errno).
 * - After a failure, containerv_last_error() returns a message saying what
 *   failed and why (thread-local, see below).
 * - The option setters return void, as in the original API: a value they
 *   cannot use (e.g. a memory limit "12Q") sets errno and the message at
 *   once and makes the next containerv_create with these options fail with
 *   EINVAL, before anything is created.
 * - Every pointer argument is checked: NULL where a value is required fails
 *   with EINVAL (void functions ignore a NULL handle).
 * - Strings passed in are borrowed and copied: the caller keeps ownership.
 *   Strings returned are owned by the library: do not free them.
 * - A Rust panic never crosses this boundary: it is caught and reported as
 *   -1 / EIO ("internal error"). This needs the library built with
 *   panic=unwind (the default profile, or `--profile release-capi`); a
 *   `--release` build of this workspace aborts on a panic instead.
 *
 * Linux runtime root: containers' state lives in $CONTAINERV_ROOT
 * (default /run/containerv); containerv_join finds a container there.
 */
#ifndef CHEF_CONTAINERV_H
#define CHEF_CONTAINERV_H

#include <stdint.h>

#include <chef/containerv/layers.h>

#if defined(WIN32) || defined(_WIN32) || defined(__WIN32__) || defined(__NT__)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
/* A process: a HANDLE owned by the container handle (do not close it). */
typedef HANDLE process_handle_t;
#elif defined(__linux__) || defined(__unix__)
#include <sys/types.h>
/* A process: its host pid. */
typedef pid_t process_handle_t;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Container options: made by containerv_options_new, owned by the caller,
 * freed with containerv_options_delete. */
struct containerv_options;
/* A container: made by containerv_create, freed by containerv_destroy. */
struct containerv_container;
/* Who a spawned process runs as (Linux): made by containerv_user_from,
 * freed with containerv_user_delete. */
struct containerv_user;

/* One sample of a container's resource use (containerv_get_stats). A
 * figure a platform cannot measure reads 0. */
struct containerv_stats {
    uint64_t timestamp;           /* when sampled: ns since the Unix epoch */
    uint64_t memory_usage;        /* memory in use now, bytes */
    uint64_t memory_peak;         /* highest memory use seen, bytes */
    uint64_t cpu_time_ns;         /* CPU time of all processes, ns */
    double   cpu_percent;         /* CPU use since the previous sample through
                                     this handle, % of one CPU (0 at first) */
    uint64_t read_bytes;          /* bytes read from block devices */
    uint64_t write_bytes;         /* bytes written to block devices */
    uint64_t read_ops;            /* read operations */
    uint64_t write_ops;           /* write operations */
    uint64_t network_rx_bytes;    /* bytes received (own interfaces, not lo) */
    uint64_t network_tx_bytes;    /* bytes sent */
    uint64_t network_rx_packets;  /* packets received */
    uint64_t network_tx_packets;  /* packets sent */
    uint32_t active_processes;    /* processes alive now */
    uint32_t total_processes;     /* Linux: tasks (processes and threads) in
                                     the cgroup now, what the pids limit
                                     counts; Windows: processes ever in the job */
};

/* One process of a container (containerv_get_processes). */
struct containerv_process_info {
    process_handle_t pid;         /* Linux: host pid; Windows: the process id
                                     (cast, not an open handle) */
    char             name[64];    /* command name, NUL-terminated, truncated */
    uint64_t         memory_kb;   /* resident memory (working set), KiB */
    double           cpu_percent; /* since the previous call through this
                                     handle, % of one CPU (0 at first) */
};

/* Which isolation a container gets (Linux namespaces). Without
 * containerv_options_set_caps: all but CV_CAP_USERS. A mount namespace is
 * always made (the root filesystem needs one). */
enum containerv_capabilities {
    CV_CAP_NETWORK = 0x1,         /* own network and UTS namespaces */
    CV_CAP_PROCESS_CONTROL = 0x2, /* own pid namespace */
    CV_CAP_IPC = 0x4,             /* own IPC namespace */
    CV_CAP_FILESYSTEM = 0x8,      /* own mount namespace (always) */
    CV_CAP_CGROUPS = 0x10,        /* own cgroup namespace */
    CV_CAP_USERS = 0x20           /* own user namespace (needs
                                     containerv_options_set_users/groups) */
};

/* Mount flags of the original API (kept so its callers compile; mounts are
 * given as layers, see <chef/containerv/layers.h>). */
enum containerv_mount_flags {
    CV_MOUNT_BIND = 0x1,
    CV_MOUNT_RECURSIVE = 0x2,
    CV_MOUNT_READONLY = 0x4,
    CV_MOUNT_CREATE = 0x100
};

/* The message of this thread's last failure ("" if none yet). Owned by the
 * library, valid until the next failing call on this thread. Never NULL. */
extern const char* containerv_last_error(void);

/* New options with the defaults (see each setter). NULL (errno ENOMEM)
 * only if memory is exhausted. */
extern struct containerv_options* containerv_options_new(void);
/* Frees options (NULL does nothing). Containers made from them keep
 * running: they do not refer to the options. */
extern void containerv_options_delete(struct containerv_options* options);

/* Replaces the namespaces set, see enum containerv_capabilities. Linux
 * only in effect; ignored on Windows (a job object has no namespaces). */
extern void containerv_options_set_caps(struct containerv_options* options, enum containerv_capabilities caps);

/* Uses a composition as the container's root filesystem and mounts. The
 * options copy it: `layers` stays the caller's (free it with
 * containerv_layers_destroy whenever convenient). Windows: the base layer
 * is the container's working directory; other layers are refused. */
extern void containerv_options_set_layers(struct containerv_options* options, struct containerv_layer_context* layers);

/*
 * A virtual ethernet pair between the host and the container's own network
 * namespace (needs CV_CAP_NETWORK, the default): the host end, named "cv"
 * and 12 hex digits of a hash of the container id, gets `host_ip`; the
 * container's end, eth0, gets `container_ip` (`container_netmask`: dotted,
 * "255.255.255.0", or a prefix length, "24") and a default route via
 * `gateway_ip` (_ex; NULL: via `host_ip`). Both ends go with the container.
 * DNS servers (_ex `dns`) are not supported: non-NULL makes create fail
 * with ENOTSUP. Strings are copied; addresses are checked at create
 * (EINVAL). Windows: create fails with ENOTSUP.
 */
extern void containerv_options_set_network(
    struct containerv_options* options,
    const char*                container_ip,
    const char*                container_netmask,
    const char*                host_ip
);
extern void containerv_options_set_network_ex(
    struct containerv_options* options,
    const char*                container_ip,
    const char*                container_netmask,
    const char*                host_ip,
    const char*                gateway_ip,
    const char*                dns
);

/*
 * Resource limits: memory ("1G", "512M", bytes, "max" for none; NULL:
 * 1G), CPU percent of the whole machine ("50", "75%"; NULL: 50; Linux: a
 * CFS quota, Windows: a Job Object CPU rate), processes ("256", "max";
 * NULL: 256; Linux: the pids limit, Windows: active processes). Strings
 * are copied. A bad value: see Conventions above.
 */
extern void containerv_options_set_resource_limits(
    struct containerv_options* options,
    const char*                memory_max,
    const char*                cpu_percent,
    const char*                process_count
);

#if defined(WIN32) || defined(_WIN32) || defined(__WIN32__) || defined(__NT__)
#elif defined(__linux__) || defined(__unix__)
/* Uid/gid maps of a user namespace: `count` ids from `childUidStart` in
 * the container map to `hostUidStart` on the host. Both maps are needed;
 * they imply CV_CAP_USERS. */
extern void containerv_options_set_users(struct containerv_options* options, uid_t hostUidStart, uid_t childUidStart, int count);
extern void containerv_options_set_groups(struct containerv_options* options, gid_t hostGidStart, gid_t childGidStart, int count);

/*
 * cgroup limits: memory ("1G", "512M", bytes, "max"; NULL: 1G), CPU weight
 * (1-10000 as cgroup v2 cpu.weight, NULL: 100; written as the matching
 * cpu.shares on cgroup v1), pids ("256", "max"; NULL: 256). Strings are
 * copied. A bad value: see Conventions above.
 */
extern void containerv_options_set_cgroup_limits(
    struct containerv_options* options,
    const char*                memory_max,
    const char*                cpu_weight,
    const char*                pids_max
);

/* A user for containerv_spawn_options.as_user: numeric uid and gid inside
 * the container (`name` is informational and may be NULL; it is copied).
 * Owned by the caller: free with containerv_user_delete. */
extern struct containerv_user* containerv_user_from(const char* name, uid_t uid, gid_t gid);
#endif

/* Frees a user (NULL does nothing). */
extern void containerv_user_delete(struct containerv_user* user);

/*
 * Creates and starts container `containerId` (1-128 characters from
 * [A-Za-z0-9_.-], not starting with '.' or '-') from `options` (still the
 * caller's afterwards). On success `*containerOut` is a new handle, owned
 * by the caller until containerv_destroy. On failure nothing is left
 * behind and `*containerOut` is untouched.
 */
extern int containerv_create(
    const char*                   containerId,
    struct containerv_options*    options,
    struct containerv_container** containerOut
);

enum container_spawn_flags {
    CV_SPAWN_WAIT = 0x1 /* return once the process has exited */
};

/* How to spawn (all fields borrowed; a NULL options pointer means all
 * defaults). */
struct containerv_spawn_options {
    /* The arguments after argv[0], as one command line split as a POSIX
     * shell would (quotes and backslashes; no expansion). NULL: none. */
    const char*                arguments;
    /* NULL-terminated "KEY=VALUE" array, or NULL for the container's
     * environment. */
    const char* const*         environment;
    /* NULL: the container's user (root). */
    struct containerv_user*    as_user;
    enum container_spawn_flags flags;
};

/*
 * Runs `path` (argv[0]; looked up in the container's PATH when it has no
 * '/') in the container. `*pidOut` (may be NULL) receives the process; it
 * stays known to this handle until containerv_wait returns its exit code.
 * With CV_SPAWN_WAIT the call returns once the process has ended (its exit
 * code is still collected with containerv_wait). Output goes to the
 * caller's stdout and stderr.
 */
extern int containerv_spawn(
    struct containerv_container*     container,
    const char*                      path,
    struct containerv_spawn_options* options,
    process_handle_t*                pidOut
);

/* Kills (SIGKILL; Windows: terminated with exit code 137) a process of the
 * container: one from containerv_spawn, or any other process id in it. */
extern int containerv_kill(struct containerv_container* container, process_handle_t pid);

/* Waits for a process from containerv_spawn to end; `*exit_code_out` (may
 * be NULL) receives its exit code, 128 + the signal number if a signal
 * ended it. The process is then forgotten (a second wait fails, ECHILD). */
extern int containerv_wait(struct containerv_container* container, process_handle_t pid, int* exit_code_out);

/* Copies `count` host files or directories into the container (each to the
 * matching absolute container path) / out of it. Arrays and strings are
 * borrowed. Stops at the first failure. Windows: container paths are under
 * the container's working directory ("/data/x" or "data\x"; ".." refused). */
extern int containerv_upload(struct containerv_container* container, const char* const* hostPaths, const char* const* containerPaths, int count);
extern int containerv_download(struct containerv_container* container, const char* const* containerPaths, const char* const* hostPaths, int count);

/* Kills every process, undoes mounts, cgroups and state, and frees the
 * handle (also when it fails: -1 then says what could not be removed).
 * Processes spawned through the handle are reaped. */
extern int containerv_destroy(struct containerv_container* container);

/* Enters the running container `containerId` (under $CONTAINERV_ROOT).
 * Linux: moves the calling process into its cgroup and namespaces; the
 * caller must be single-threaded (typically a child just forked, before
 * exec); the pid namespace applies to its children. Windows: puts the
 * calling process into the container's job (its limits apply, and it ends
 * with the container). */
extern int containerv_join(const char* containerId);

/*
 * Not in the seed; recommended first call in main() of a program that
 * creates or enters containers, before any thread exists. A container
 * process can make the kernel run the entering program's own binary inside
 * the container (a file starting with "#!/proc/self/exe") and then write
 * that binary on the host through /proc/PID/exe (CVE-2019-5736). This
 * re-executes the program, with the same arguments, environment and
 * inherited descriptors, from a read-only view of its binary (or a sealed
 * copy) unless it already runs from one; returns 0 then. Windows: does
 * nothing, returns 0.
 */
extern int containerv_ensure_sealed(void);

/* The container's id, owned by the handle (valid until containerv_destroy).
 * NULL (errno EINVAL) for a NULL handle. */
extern const char* containerv_id(struct containerv_container* container);

/* Non-zero if the container is a VM with a Windows guest. containerv makes
 * no VM containers: always 0. */
extern int containerv_guest_is_windows(struct containerv_container* container);

/* Fills `*stats` with one sample; see struct containerv_stats. */
extern int containerv_get_stats(struct containerv_container* container, struct containerv_stats* stats);

/* Fills up to `maxProcesses` entries of `processes` (caller's array) and
 * returns how many it filled, or -1. */
extern int containerv_get_processes(struct containerv_container* container, struct containerv_process_info* processes, int maxProcesses);

#ifdef __cplusplus
}
#endif

#endif /* CHEF_CONTAINERV_H */
