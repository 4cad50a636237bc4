/*
 * Goes through the containerv C API on real containers, as a C caller of
 * the seed's library would. Run by tests/c_api.rs (which compiles it
 * against libcontainerv.so and libcontainerv.a, runs it, also under
 * valgrind, and checks cgroup files and leftovers from outside).
 *
 * usage: api_test SCENARIO ID-PREFIX ROOTFS [DATA-DIR [ARGS...]]
 *   SCENARIO: limits, stats, copy, killwait, join, bad (nothing is
 *   created), badlive (bad arguments on a live container), network
 *   (then CONTAINER-IP HOST-IP after DATA-DIR)
 * Prints "ok SCENARIO" and exits 0 when every check held; on a failed
 * check prints the line, errno and containerv_last_error() and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chef/containerv.h>

#define CHECK(expr)                                                          \
    do {                                                                     \
        if (!(expr)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s (errno %d, last error: %s)\n", \
                    __FILE__, __LINE__, #expr, errno, containerv_last_error()); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* A call that must fail with `err` and a message containing `needle`. */
#define FAILS(call, err, needle)                                             \
    do {                                                                     \
        errno = 0;                                                           \
        int rc_ = (call);                                                    \
        if (rc_ != -1 || errno != (err) || !strstr(containerv_last_error(), (needle))) { \
            fprintf(stderr, "%s:%d: %s: rc %d errno %d (want -1, %d), message %s (want %s)\n", \
                    __FILE__, __LINE__, #call, rc_, errno, (err),            \
                    containerv_last_error(), (needle));                      \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static const char* g_prefix;
static const char* g_rootfs;
static const char* g_data;

static char* make_id(const char* suffix)
{
    static char ids[8][200];
    static int  n;
    char*       id = ids[n++ % 8];
    snprintf(id, sizeof ids[0], "%s-%s", g_prefix, suffix);
    return id;
}

/* A container on the shared read-only busybox rootfs with a private
 * overlay (writes stay in it) and, when given, DATA-DIR at /data. */
static struct containerv_container* make(const char* id, struct containerv_options* opts)
{
    struct containerv_layer layers[3];
    struct containerv_layer_context* ctx = NULL;
    struct containerv_container*     c   = NULL;
    int                              n   = 0;

    memset(layers, 0, sizeof layers);
    layers[n].type   = CONTAINERV_LAYER_BASE_ROOTFS;
    layers[n].source = (char*)g_rootfs;
    n++;
    layers[n].type = CONTAINERV_LAYER_OVERLAY;
    n++;
    if (g_data != NULL) {
        layers[n].type   = CONTAINERV_LAYER_HOST_DIRECTORY;
        layers[n].source = (char*)g_data;
        layers[n].target = (char*)"/data";
        n++;
    }
    CHECK(containerv_layers_compose(layers, n, id, &ctx) == 0);
    CHECK(strcmp(containerv_layers_get_rootfs(ctx), g_rootfs) == 0);
    containerv_options_set_layers(opts, ctx);
    /* The options copied the composition: the context may go now. */
    containerv_layers_destroy(ctx);
    CHECK(containerv_create(id, opts, &c) == 0);
    CHECK(c != NULL);
    CHECK(strcmp(containerv_id(c), id) == 0);
    return c;
}

static int run(struct containerv_container* c, const char* args, int flags, pid_t* pid)
{
    struct containerv_spawn_options so;
    memset(&so, 0, sizeof so);
    so.arguments = args;
    so.flags     = (enum container_spawn_flags)flags;
    return containerv_spawn(c, "/bin/sh", &so, pid);
}

/* Runs `sh -c SCRIPT` to its end and returns its exit code. */
static int sh(struct containerv_container* c, const char* script)
{
    char  args[4096];
    pid_t pid = 0;
    int   code = -1;
    snprintf(args, sizeof args, "-c '%s'", script);
    CHECK(run(c, args, CV_SPAWN_WAIT, &pid) == 0);
    CHECK(containerv_wait(c, pid, &code) == 0);
    return code;
}

/* Holds the container until the harness has looked at it from outside. */
static void pause_for_harness(const char* what)
{
    char line[64];
    printf("READY %s\n", what);
    fflush(stdout);
    CHECK(fgets(line, sizeof line, stdin) != NULL);
}

static void scenario_limits(void)
{
    struct containerv_options*   opts;
    struct containerv_container* c;
    pid_t                        pid;

    /* Explicit cgroup limits. */
    opts = containerv_options_new();
    CHECK(opts != NULL);
    containerv_options_set_caps(opts, (enum containerv_capabilities)(CV_CAP_FILESYSTEM | CV_CAP_PROCESS_CONTROL
                                      | CV_CAP_IPC | CV_CAP_NETWORK | CV_CAP_CGROUPS));
    containerv_options_set_cgroup_limits(opts, "256M", "200", "64");
    c = make(make_id("explicit"), opts);
    containerv_options_delete(opts);
    CHECK(run(c, "-c 'sleep 30'", 0, &pid) == 0);
    pause_for_harness(containerv_id(c));
    CHECK(containerv_destroy(c) == 0);

    /* The seed's defaults for NULL: 1G, weight 100, 256 processes. */
    opts = containerv_options_new();
    containerv_options_set_cgroup_limits(opts, NULL, NULL, NULL);
    c = make(make_id("defaults"), opts);
    containerv_options_delete(opts);
    pause_for_harness(containerv_id(c));
    CHECK(containerv_destroy(c) == 0);

    /* The Windows-style call, mapped to cgroups: 512M, 25 % CPU, no pid limit. */
    opts = containerv_options_new();
    containerv_options_set_resource_limits(opts, "512M", "25", "max");
    c = make(make_id("resource"), opts);
    containerv_options_delete(opts);
    pause_for_harness(containerv_id(c));
    CHECK(containerv_destroy(c) == 0);
}

static void scenario_stats(void)
{
    struct containerv_options*     opts = containerv_options_new();
    struct containerv_container*   c;
    struct containerv_stats        s0, s1, s2, s3, s4;
    struct containerv_process_info procs[16];
    pid_t                          sleepers[3];
    int                            i, n, seen_sleep = 0, code;

    containerv_options_set_cgroup_limits(opts, "512M", NULL, NULL);
    c = make(make_id("stats"), opts);
    containerv_options_delete(opts);

    CHECK(containerv_get_stats(c, &s0) == 0);
    CHECK(s0.timestamp > 0);

    /* CPU time grows with a busy loop. */
    CHECK(sh(c, "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done") == 0);
    CHECK(containerv_get_stats(c, &s1) == 0);
    CHECK(s1.timestamp > s0.timestamp);
    CHECK(s1.cpu_time_ns > s0.cpu_time_ns + 50 * 1000 * 1000ull);
    CHECK(s1.cpu_percent > 0.0);

    /* Memory: 64 MiB in /dev/shm (tmpfs, charged to the container). */
    CHECK(sh(c, "dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>/dev/null") == 0);
    CHECK(containerv_get_stats(c, &s2) == 0);
    CHECK(s2.memory_usage >= s1.memory_usage + 60ull * 1024 * 1024);
    CHECK(s2.memory_peak >= s2.memory_usage);

    /* Block I/O: 8 MiB written with O_DIRECT to /data (a host disk). */
    CHECK(sh(c, "dd if=/dev/zero of=/data/direct bs=1M count=8 oflag=direct 2>/dev/null") == 0);
    CHECK(containerv_get_stats(c, &s3) == 0);
    CHECK(s3.write_bytes >= s2.write_bytes + 8ull * 1024 * 1024);
    CHECK(s3.write_ops >= s2.write_ops + 8);
    CHECK(sh(c, "dd if=/data/direct of=/dev/null bs=1M iflag=direct 2>/dev/null") == 0);
    CHECK(containerv_get_stats(c, &s3) == 0);
    CHECK(s3.read_bytes >= 8ull * 1024 * 1024);
    CHECK(s3.read_ops >= 8);

    /* Process counts and the process list. */
    for (i = 0; i < 3; i++) {
        CHECK(run(c, "-c 'exec sleep 30'", 0, &sleepers[i]) == 0);
    }
    usleep(200 * 1000);
    CHECK(containerv_get_stats(c, &s4) == 0);
    CHECK(s4.active_processes >= 4); /* the init and three sleeps */
    CHECK(s4.total_processes >= s4.active_processes);
    n = containerv_get_processes(c, procs, 16);
    CHECK(n >= 4);
    for (i = 0; i < n; i++) {
        CHECK(procs[i].pid > 0);
        CHECK(memchr(procs[i].name, '\0', sizeof procs[i].name) != NULL);
        if (strcmp(procs[i].name, "sleep") == 0) {
            seen_sleep++;
            CHECK(procs[i].memory_kb > 0);
        }
    }
    CHECK(seen_sleep == 3);
    CHECK(containerv_get_processes(c, procs, 2) == 2); /* at most max */
    CHECK(containerv_get_processes(c, NULL, 0) == 0);
    for (i = 0; i < 3; i++) {
        CHECK(containerv_kill(c, sleepers[i]) == 0);
        CHECK(containerv_wait(c, sleepers[i], &code) == 0);
        CHECK(code == 137);
    }
    CHECK(containerv_get_stats(c, &s4) == 0);
    CHECK(s4.active_processes < 4);
    /* Network: no interface but lo in a new netns: nothing counted. */
    CHECK(s4.network_rx_bytes == 0 && s4.network_tx_bytes == 0);
    CHECK(s4.network_rx_packets == 0 && s4.network_tx_packets == 0);
    printf("stats: cpu %llu ns, memory %llu (peak %llu), written %llu, read %llu, processes %u/%u\n",
           (unsigned long long)s1.cpu_time_ns, (unsigned long long)s2.memory_usage,
           (unsigned long long)s2.memory_peak, (unsigned long long)s3.write_bytes,
           (unsigned long long)s3.read_bytes, s4.active_processes, s4.total_processes);
    CHECK(containerv_destroy(c) == 0);
}

static void write_file(const char* path, const char* text)
{
    FILE* f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

static void read_file(const char* path, char* buf, size_t size)
{
    FILE*  f = fopen(path, "r");
    size_t n;
    CHECK(f != NULL);
    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void scenario_copy(void)
{
    struct containerv_options*   opts = containerv_options_new();
    struct containerv_container* c    = make(make_id("copy"), opts);
    char                         host_in[1200], host_dir[512], host_out[512], host_outdir[512];
    char                         buf[256];
    const char*                  up_host[2];
    const char*                  up_cont[2] = { "/tmp/in.txt", "/tmp/tree" };
    const char*                  down_cont[2] = { "/tmp/out.txt", "/tmp/tree" };
    const char*                  down_host[2];

    containerv_options_delete(opts);
    snprintf(host_in, sizeof host_in, "%s/in.txt", g_data);
    snprintf(host_dir, sizeof host_dir, "%s/tree", g_data);
    snprintf(host_out, sizeof host_out, "%s/out.txt", g_data);
    snprintf(host_outdir, sizeof host_outdir, "%s/tree-back", g_data);
    write_file(host_in, "hello from the host\n");
    CHECK(mkdir(host_dir, 0755) == 0);
    snprintf(buf, sizeof buf, "%s/tree/leaf", g_data);
    write_file(buf, "leaf\n");

    up_host[0] = host_in;
    up_host[1] = host_dir;
    CHECK(containerv_upload(c, up_host, up_cont, 2) == 0);
    CHECK(sh(c, "cp /tmp/in.txt /tmp/out.txt && echo \"and back from $(hostname)\" >> /tmp/out.txt && echo grown >> /tmp/tree/leaf") == 0);
    down_host[0] = host_out;
    down_host[1] = host_outdir;
    CHECK(containerv_download(c, down_cont, down_host, 2) == 0);
    read_file(host_out, buf, sizeof buf);
    snprintf(host_in, sizeof host_in, "hello from the host\nand back from %s\n", containerv_id(c));
    CHECK(strcmp(buf, host_in) == 0);
    snprintf(host_in, sizeof host_in, "%s/leaf", host_outdir);
    read_file(host_in, buf, sizeof buf);
    CHECK(strcmp(buf, "leaf\ngrown\n") == 0);
    /* A missing file: -1, ENOENT, the path named. */
    down_cont[0] = "/nonexistent/file";
    FAILS(containerv_download(c, down_cont, down_host, 1), ENOENT, "/nonexistent/file");
    CHECK(containerv_destroy(c) == 0);
}

static void scenario_killwait(void)
{
    struct containerv_options*   opts = containerv_options_new();
    struct containerv_container* c    = make(make_id("kw"), opts);
    const char* const            env[] = { "GREETING=hi there", "CODE=9", NULL };
    struct containerv_spawn_options so;
    pid_t                        pid;
    int                          code;

    containerv_options_delete(opts);
    /* Exit codes through wait. */
    CHECK(run(c, "-c 'exit 7'", 0, &pid) == 0);
    CHECK(containerv_wait(c, pid, &code) == 0);
    CHECK(code == 7);
    /* Waited already: forgotten. */
    FAILS(containerv_wait(c, pid, &code), ECHILD, "not spawned");
    /* CV_SPAWN_WAIT returns after the end; the code is still there. */
    CHECK(run(c, "-c 'exit 3'", CV_SPAWN_WAIT, &pid) == 0);
    CHECK(containerv_wait(c, pid, NULL) == 0);
    /* Killed: 128 + SIGKILL. */
    CHECK(run(c, "-c 'sleep 30'", 0, &pid) == 0);
    CHECK(containerv_kill(c, pid) == 0);
    CHECK(containerv_wait(c, pid, &code) == 0);
    CHECK(code == 137);
    /* Arguments split as a shell would, and the environment. */
    memset(&so, 0, sizeof so);
    so.arguments   = "-c 'test \"$GREETING\" = \"hi there\" && test \"$1\" = \"a b\" && exit $CODE' sh \"a b\"";
    so.environment = env;
    CHECK(containerv_spawn(c, "/bin/sh", &so, &pid) == 0);
    CHECK(containerv_wait(c, pid, &code) == 0);
    CHECK(code == 9);
    /* As a user: uid 1000 (app in the test rootfs). */
    so.arguments   = "-c 'exit $(id -u)'";
    so.environment = NULL;
    so.as_user     = containerv_user_from("app", 1000, 1000);
    CHECK(so.as_user != NULL);
    CHECK(containerv_spawn(c, "/bin/sh", &so, &pid) == 0);
    containerv_user_delete(so.as_user);
    CHECK(containerv_wait(c, pid, &code) == 0);
    CHECK(code == 1000 % 256);
    /* A program that does not exist: -1, the path named, nothing running. */
    FAILS(containerv_spawn(c, "/bin/nosuch", NULL, &pid), ENOENT, "/bin/nosuch");
    /* Not a process of the container (ourselves). */
    FAILS(containerv_kill(c, getpid()), EINVAL, "not a process of container");
    CHECK(containerv_destroy(c) == 0);
}

static void scenario_join(void)
{
    struct containerv_options*   opts = containerv_options_new();
    struct containerv_container* c    = make(make_id("join"), opts);
    const char*                  host[1];
    const char*                  inside[1] = { "/joined-marker" };
    char                         marker[512];
    pid_t                        child;
    int                          status;

    containerv_options_delete(opts);
    snprintf(marker, sizeof marker, "%s/marker", g_data);
    write_file(marker, "inside\n");
    host[0] = marker;
    CHECK(containerv_upload(c, host, inside, 1) == 0);

    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        char name[256] = "";
        char buf[64];
        FILE* f;
        if (containerv_join(containerv_id(c)) != 0) {
            fprintf(stderr, "join: %s\n", containerv_last_error());
            _exit(10);
        }
        /* The container's hostname (its id) and its root. */
        gethostname(name, sizeof name);
        if (strcmp(name, containerv_id(c)) != 0) {
            fprintf(stderr, "hostname %s\n", name);
            _exit(11);
        }
        f = fopen("/joined-marker", "r");
        if (f == NULL || fgets(buf, sizeof buf, f) == NULL || strcmp(buf, "inside\n") != 0) {
            _exit(12);
        }
        fclose(f);
        if (access(marker, F_OK) == 0) {
            _exit(13); /* the host's path must not be visible inside */
        }
        /* A program run from here is the container's (busybox) and its
         * children are in the container's pid namespace, whose /proc the
         * container mounted (this process itself is not in it). */
        execl("/bin/sh", "sh", "-c", "test -x /bin/busybox && test \"$(sh -c \"cat /proc/self/stat\" | cut -d\" \" -f1)\" -lt 100", (char*)NULL);
        _exit(14);
    }
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) {
        fprintf(stderr, "join child exited %d\n", WEXITSTATUS(status));
    }
    CHECK(WEXITSTATUS(status) == 0);

    FAILS(containerv_join(make_id("nosuch")), ENOENT, "does not exist");
    FAILS(containerv_join("a/b"), EINVAL, "a/b");
    FAILS(containerv_join(NULL), EINVAL, "containerId is NULL");
    CHECK(containerv_destroy(c) == 0);
    /* Destroyed: gone for join too. */
    FAILS(containerv_join(make_id("join")), ENOENT, "does not exist");
}

/* A veth pair: the container sends 100 KiB to a listener the harness
 * opened on the host end (its port comes on stdin), and the traffic is
 * counted in the container's network figures. */
static void scenario_network(const char* container_ip, const char* host_ip)
{
    struct containerv_options*   opts = containerv_options_new();
    struct containerv_container* c;
    struct containerv_stats      s0, s1;
    char                         script[512], line[64];
    int                          port;

    containerv_options_set_network(opts, container_ip, "255.255.255.0", host_ip);
    c = make(make_id("net"), opts);
    containerv_options_delete(opts);
    snprintf(script, sizeof script, "ip -4 addr show eth0 | grep -q \"inet %s/24\"", container_ip);
    CHECK(sh(c, script) == 0);
    printf("LISTEN %s\n", containerv_id(c));
    fflush(stdout);
    CHECK(fgets(line, sizeof line, stdin) != NULL);
    port = atoi(line);
    CHECK(port > 0);
    CHECK(containerv_get_stats(c, &s0) == 0);
    snprintf(script, sizeof script, "head -c 102400 /dev/zero | nc -w 5 %s %d", host_ip, port);
    CHECK(sh(c, script) == 0);
    CHECK(containerv_get_stats(c, &s1) == 0);
    CHECK(s1.network_tx_bytes >= s0.network_tx_bytes + 102400);
    CHECK(s1.network_tx_packets > s0.network_tx_packets);
    CHECK(s1.network_rx_packets > s0.network_rx_packets); /* the ACKs */
    CHECK(s1.network_rx_bytes > s0.network_rx_bytes);
    pause_for_harness(containerv_id(c));
    CHECK(containerv_destroy(c) == 0);
}

static void scenario_bad(void)
{
    struct containerv_options*       opts = containerv_options_new();
    struct containerv_container*     c    = NULL;
    struct containerv_layer_context* ctx  = NULL;
    struct containerv_layer          l[2];
    struct containerv_stats          st;
    const char*                      paths[1] = { NULL };

    /* A bad limit string: reported by the setter, then by create. */
    errno = 0;
    containerv_options_set_cgroup_limits(opts, "12Q", NULL, NULL);
    CHECK(errno == EINVAL);
    CHECK(strstr(containerv_last_error(), "12Q") != NULL);
    FAILS(containerv_create(make_id("badlimit"), opts, &c), EINVAL, "12Q");
    CHECK(c == NULL);
    containerv_options_delete(opts);

    opts = containerv_options_new();
    containerv_options_set_resource_limits(opts, "1G", "150", NULL);
    FAILS(containerv_create(make_id("badcpu"), opts, &c), EINVAL, "150");
    containerv_options_delete(opts);
    opts = containerv_options_new();
    containerv_options_set_cgroup_limits(opts, NULL, NULL, "-3");
    FAILS(containerv_create(make_id("badpids"), opts, &c), EINVAL, "-3");
    containerv_options_delete(opts);

    /* Layers. */
    memset(l, 0, sizeof l);
    l[0].type   = CONTAINERV_LAYER_BASE_ROOTFS;
    l[0].source = (char*)g_rootfs;
    FAILS(containerv_layers_compose(NULL, 1, "x", &ctx), EINVAL, "layers is NULL");
    FAILS(containerv_layers_compose(l, 0, "x", &ctx), EINVAL, "layer_count");
    FAILS(containerv_layers_compose(l, 1, "x", NULL), EINVAL, "context_out is NULL");
    FAILS(containerv_layers_compose(l, 1, "a/b", &ctx), EINVAL, "a/b");
    l[1].type   = CONTAINERV_LAYER_VAFS_PACKAGE;
    l[1].source = (char*)"/some/package.pack";
    FAILS(containerv_layers_compose(l, 2, "x", &ctx), ENOTSUP, "VaFS");
    l[1].type   = CONTAINERV_LAYER_BASE_ROOTFS;
    l[1].source = (char*)g_rootfs;
    FAILS(containerv_layers_compose(l, 2, "x", &ctx), EINVAL, "exactly one");
    l[1].type   = CONTAINERV_LAYER_HOST_DIRECTORY;
    l[1].source = (char*)"/nonexistent-host-dir";
    l[1].target = (char*)"/mnt";
    FAILS(containerv_layers_compose(l, 2, "x", &ctx), EINVAL, "/nonexistent-host-dir");
    l[1].source = (char*)g_rootfs;
    l[1].target = (char*)"relative";
    FAILS(containerv_layers_compose(l, 2, "x", &ctx), EINVAL, "absolute");
    l[0].source = (char*)"/nonexistent-rootfs";
    FAILS(containerv_layers_compose(l, 1, "x", &ctx), EINVAL, "/nonexistent-rootfs");
    l[0].source     = (char*)g_rootfs;
    l[0].base_image = (char*)"ubuntu:22.04";
    FAILS(containerv_layers_compose(l, 1, "x", &ctx), ENOTSUP, "ubuntu:22.04");
    CHECK(ctx == NULL);
    errno = 0;
    CHECK(containerv_layers_get_rootfs(NULL) == NULL && errno == EINVAL);
    containerv_layers_destroy(NULL);

    /* create: bad id, NULLs, no rootfs, network not available. */
    opts = containerv_options_new();
    FAILS(containerv_create("a/b", opts, &c), EINVAL, "a/b");
    FAILS(containerv_create(NULL, opts, &c), EINVAL, "containerId is NULL");
    FAILS(containerv_create(make_id("nullopts"), NULL, &c), EINVAL, "options is NULL");
    FAILS(containerv_create(make_id("nullout"), opts, NULL), EINVAL, "containerOut is NULL");
    FAILS(containerv_create(make_id("norootfs"), opts, &c), EINVAL, "root filesystem");
    CHECK(c == NULL);
    l[0].base_image = NULL;
    CHECK(containerv_layers_compose(l, 1, make_id("net"), &ctx) == 0);
    containerv_options_set_layers(opts, ctx);
    containerv_layers_destroy(ctx);
    containerv_options_set_network_ex(opts, "10.213.0.2", "24", "10.213.0.1", NULL, "10.213.0.53");
    FAILS(containerv_create(make_id("net"), opts, &c), ENOTSUP, "dns");
    containerv_options_set_network(opts, "10.213.0", "255.255.255.0", "10.213.0.1");
    FAILS(containerv_create(make_id("net"), opts, &c), EINVAL, "10.213.0");
    containerv_options_set_network_ex(opts, "10.213.0.2", "24", "10.213.0.1", "gw", NULL);
    FAILS(containerv_create(make_id("net"), opts, &c), EINVAL, "gw");
    errno = 0;
    containerv_options_set_network(opts, NULL, "24", "10.213.0.1");
    CHECK(errno == EINVAL && strstr(containerv_last_error(), "container_ip is NULL"));
    FAILS(containerv_create(make_id("net"), opts, &c), EINVAL, "container_ip is NULL");
    containerv_options_delete(opts);
    /* Setters on NULL options: no crash, EINVAL. */
    errno = 0;
    containerv_options_set_caps(NULL, CV_CAP_NETWORK);
    CHECK(errno == EINVAL);
    containerv_options_set_layers(NULL, NULL);
    containerv_options_set_cgroup_limits(NULL, "1G", NULL, NULL);
    containerv_options_delete(NULL);
    containerv_user_delete(NULL);

    /* A user namespace asked for without id maps. */
    opts = containerv_options_new();
    containerv_options_set_caps(opts, CV_CAP_USERS);
    CHECK(containerv_layers_compose(l, 1, make_id("userns"), &ctx) == 0);
    containerv_options_set_layers(opts, ctx);
    containerv_layers_destroy(ctx);
    FAILS(containerv_create(make_id("userns"), opts, &c), EINVAL, "mapping");
    containerv_options_delete(opts);

    /* Calls on a NULL container. */
    FAILS(containerv_spawn(NULL, "/bin/true", NULL, NULL), EINVAL, "container is NULL");
    FAILS(containerv_kill(NULL, 1), EINVAL, "container is NULL");
    FAILS(containerv_wait(NULL, 1, NULL), EINVAL, "container is NULL");
    FAILS(containerv_get_stats(NULL, &st), EINVAL, "container is NULL");
    FAILS(containerv_get_processes(NULL, NULL, 0), EINVAL, "container is NULL");
    FAILS(containerv_upload(NULL, paths, paths, 1), EINVAL, "container is NULL");
    FAILS(containerv_destroy(NULL), EINVAL, "container is NULL");
    errno = 0;
    CHECK(containerv_id(NULL) == NULL && errno == EINVAL);
}

/* Bad arguments on a live container. */
static void scenario_badlive(void)
{
    struct containerv_options*       opts;
    struct containerv_container*     c;
    struct containerv_layer_context* ctx = NULL;
    struct containerv_layer          l[1];
    const char*                      paths[1] = { NULL };

    memset(l, 0, sizeof l);
    l[0].type   = CONTAINERV_LAYER_BASE_ROOTFS;
    l[0].source = (char*)g_rootfs;
    opts = containerv_options_new();
    c    = make(make_id("live"), opts);
    containerv_options_delete(opts);
    FAILS(containerv_spawn(c, NULL, NULL, NULL), EINVAL, "path is NULL");
    {
        struct containerv_spawn_options so;
        memset(&so, 0, sizeof so);
        so.arguments = "-c 'unbalanced";
        FAILS(containerv_spawn(c, "/bin/sh", &so, NULL), EINVAL, "unbalanced");
    }
    CHECK(containerv_guest_is_windows(c) == 0);
    FAILS(containerv_get_stats(c, NULL), EINVAL, "stats is NULL");
    FAILS(containerv_get_processes(c, NULL, 4), EINVAL, "processes is NULL");
    FAILS(containerv_get_processes(c, NULL, -1), EINVAL, "negative");
    FAILS(containerv_upload(c, paths, paths, -1), EINVAL, "negative");
    FAILS(containerv_upload(c, paths, paths, 1), EINVAL, "hostPaths[0] is NULL");
    FAILS(containerv_upload(c, NULL, paths, 1), EINVAL, "hostPaths is NULL");
    FAILS(containerv_wait(c, 1, NULL), ECHILD, "not spawned");
    /* The same id again. */
    opts = containerv_options_new();
    CHECK(containerv_layers_compose(l, 1, containerv_id(c), &ctx) == 0);
    containerv_options_set_layers(opts, ctx);
    containerv_layers_destroy(ctx);
    {
        struct containerv_container* again = NULL;
        FAILS(containerv_create(containerv_id(c), opts, &again), EEXIST, "already exists");
        CHECK(again == NULL);
    }
    containerv_options_delete(opts);
    CHECK(containerv_destroy(c) == 0);
}

/* containerv_ensure_sealed: the program runs again (same arguments) from
 * a binary on a read-only mount or a sealed memfd; a second call is a
 * no-op. Prints how many times main ran (the harness sees 2). */
static void scenario_sealed(int argc, char** argv)
{
    struct statvfs vfs;
    char           link[4096];
    ssize_t        n;
    static int     dummy;
    (void)argc;
    (void)argv;
    (void)dummy;
    printf("main ran\n");
    fflush(stdout);
    CHECK(containerv_ensure_sealed() == 0);
    CHECK(containerv_ensure_sealed() == 0);
    n = readlink("/proc/self/exe", link, sizeof link - 1);
    CHECK(n > 0);
    link[n] = '\0';
    CHECK(statvfs("/proc/self/exe", &vfs) == 0);
    CHECK((vfs.f_flag & ST_RDONLY) != 0 || strncmp(link, "/memfd:", 7) == 0);
    printf("sealed: %s\n", link);
    printf("ok sealed\n");
    exit(0);
}

int main(int argc, char** argv)
{
    const char* scenario;
    if (argc < 4) {
        fprintf(stderr, "usage: %s SCENARIO ID-PREFIX ROOTFS [DATA-DIR]\n", argv[0]);
        return 2;
    }
    scenario = argv[1];
    g_prefix = argv[2];
    g_rootfs = argv[3];
    g_data   = argc > 4 ? argv[4] : NULL;
    /* Before any failure, the message is empty, never NULL. */
    CHECK(containerv_last_error() != NULL);
    if (strcmp(scenario, "sealed") == 0) {
        scenario_sealed(argc, argv);
    }

    if (strcmp(scenario, "limits") == 0) {
        scenario_limits();
    } else if (strcmp(scenario, "stats") == 0) {
        scenario_stats();
    } else if (strcmp(scenario, "copy") == 0) {
        scenario_copy();
    } else if (strcmp(scenario, "killwait") == 0) {
        scenario_killwait();
    } else if (strcmp(scenario, "join") == 0) {
        scenario_join();
    } else if (strcmp(scenario, "bad") == 0) {
        scenario_bad();
    } else if (strcmp(scenario, "network") == 0 && argc > 6) {
        scenario_network(argv[5], argv[6]);
    } else if (strcmp(scenario, "badlive") == 0) {
        scenario_badlive();
    } else {
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    printf("ok %s\n", scenario);
    return 0;
}
