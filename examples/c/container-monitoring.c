/*
 * container-monitoring: create a container with resource limits, run a
 * workload in it, print live statistics and the process list, clean up.
 *
 * The seed's monitoring example, on the containerv C API (libcontainerv).
 *
 *   Linux:   container-monitoring ROOTFS     (a root filesystem directory,
 *            e.g. a busybox or debootstrap tree; run as root)
 *   Windows: container-monitoring.exe        (a Job Object container; the
 *            workload is this program itself, started with --work)
 *
 * Build (see README "C API"):
 *   cc -Iinclude container-monitoring.c -lcontainerv -o container-monitoring
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chef/containerv.h>

#if defined(_WIN32)
#define SLEEP_MS(ms) Sleep(ms)
#else
#include <time.h>
#include <unistd.h>
static void SLEEP_MS(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}
#endif

#define SAMPLES 4

static int fail(const char* what)
{
    fprintf(stderr, "container-monitoring: %s: %s\n", what, containerv_last_error());
    return 1;
}

#if defined(_WIN32)
/* The workload when started with --work: CPU for a while, 32 MiB touched. */
static int work(void)
{
    volatile unsigned long x = 0;
    size_t size = 32u << 20, i;
    char* mem = (char*)malloc(size);
    DWORD start = GetTickCount();
    if (mem != NULL) {
        for (i = 0; i < size; i += 4096) {
            mem[i] = 1;
        }
    }
    while (GetTickCount() - start < 2500) {
        x++;
    }
    free(mem);
    return 0;
}
#endif

static void print_stats(const struct containerv_stats* s, int n)
{
    printf("[%d] memory %8.1f MiB (peak %8.1f MiB)  cpu %6.1f%% (%.3f s)  "
           "io r/w %llu/%llu bytes  net rx/tx %llu/%llu bytes  processes %u (tasks %u)\n",
           n, s->memory_usage / 1048576.0, s->memory_peak / 1048576.0, s->cpu_percent,
           s->cpu_time_ns / 1e9, (unsigned long long)s->read_bytes,
           (unsigned long long)s->write_bytes, (unsigned long long)s->network_rx_bytes,
           (unsigned long long)s->network_tx_bytes, s->active_processes, s->total_processes);
}

int main(int argc, char** argv)
{
    struct containerv_options*      options;
    struct containerv_container*    container = NULL;
    struct containerv_spawn_options spawn;
    struct containerv_stats         stats;
    struct containerv_process_info  procs[32];
    process_handle_t                workers[2];
    char                            id[64];
    int                             i, n, code, status = 0;

    options = containerv_options_new();
    if (options == NULL) {
        return fail("options");
    }
    memset(&spawn, 0, sizeof spawn);

#if defined(_WIN32)
    if (argc > 1 && strcmp(argv[1], "--work") == 0) {
        return work();
    }
    snprintf(id, sizeof id, "monitoring-demo-%lu", (unsigned long)GetCurrentProcessId());
    /* Job Object limits: 512 MiB, 64 processes (no CPU cap: see
     * windows-resource-limits.c for that one). */
    containerv_options_set_resource_limits(options, "512M", "max", "64");
#else
    {
        struct containerv_layer          layers[2];
        struct containerv_layer_context* ctx = NULL;
        if (argc < 2) {
            fprintf(stderr, "usage: %s ROOTFS\n", argv[0]);
            containerv_options_delete(options);
            return 2;
        }
        snprintf(id, sizeof id, "monitoring-demo-%d", (int)getpid());
        /* The rootfs, with a private writable overlay over it. */
        memset(layers, 0, sizeof layers);
        layers[0].type   = CONTAINERV_LAYER_BASE_ROOTFS;
        layers[0].source = argv[1];
        layers[1].type   = CONTAINERV_LAYER_OVERLAY;
        if (containerv_layers_compose(layers, 2, id, &ctx) != 0) {
            containerv_options_delete(options);
            return fail("layers");
        }
        containerv_options_set_layers(options, ctx);
        containerv_layers_destroy(ctx);
        /* cgroup limits: 256 MiB, CPU weight 100, 64 tasks. */
        containerv_options_set_cgroup_limits(options, "256M", "100", "64");
    }
#endif

    if (containerv_create(id, options, &container) != 0) {
        containerv_options_delete(options);
        return fail("create");
    }
    containerv_options_delete(options);
    printf("container %s created\n", containerv_id(container));
#if defined(_WIN32)
    {
        HMODULE ntdll = GetModuleHandleA("ntdll.dll");
        if (ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL) {
            printf("running under Wine: it reads CPU times, peak memory and I/O of a job as 0\n");
        }
    }
#endif

    /* Two workers: CPU, memory and a file write. */
    for (i = 0; i < 2; i++) {
#if defined(_WIN32)
        char self[MAX_PATH];
        GetModuleFileNameA(NULL, self, sizeof self);
        spawn.arguments = "--work";
        status          = containerv_spawn(container, self, &spawn, &workers[i]);
#else
        spawn.arguments = "-c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; "
                          "dd if=/dev/zero of=/tmp/blob-$$ bs=1M count=16 conv=fsync 2>/dev/null; "
                          "sleep 3'";
        status          = containerv_spawn(container, "/bin/sh", &spawn, &workers[i]);
#endif
        if (status != 0) {
            fail("spawn");
            break;
        }
    }

    for (i = 0; status == 0 && i < SAMPLES; i++) {
        SLEEP_MS(500);
        if (containerv_get_stats(container, &stats) != 0) {
            status = fail("stats");
            break;
        }
        print_stats(&stats, i);
    }

    if (status == 0) {
        n = containerv_get_processes(container, procs, 32);
        if (n < 0) {
            status = fail("processes");
        } else {
            printf("%d processes:\n", n);
            for (i = 0; i < n; i++) {
                printf("  %6lld %-16s %8llu KiB %6.1f%%\n", (long long)(intptr_t)procs[i].pid,
                       procs[i].name, (unsigned long long)procs[i].memory_kb, procs[i].cpu_percent);
            }
        }
    }

    for (i = 0; status == 0 && i < 2; i++) {
        if (containerv_wait(container, workers[i], &code) != 0) {
            status = fail("wait");
        } else {
            printf("worker %d exited with %d\n", i, code);
        }
    }

    if (containerv_destroy(container) != 0) {
        return fail("destroy");
    }
    printf("container %s destroyed\n", id);
    return status;
}
