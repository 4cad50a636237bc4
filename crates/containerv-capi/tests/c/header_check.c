/* Compiled as C99 and as C++ with -Wall -Wextra -Werror (tests/c_api.rs):
 * the headers alone must be clean, and the seed's structs must have the
 * seed's layout. */
#include <chef/containerv.h>
#include <chef/containerv/layers.h>
#include <stddef.h>

#ifdef __cplusplus
#define STATIC_ASSERT(c, m) static_assert(c, #m)
#else
#define STATIC_ASSERT(c, m) typedef char static_assert_##m[(c) ? 1 : -1]
#endif

STATIC_ASSERT(offsetof(struct containerv_stats, cpu_percent) == 32, cpu_percent_at_32);
STATIC_ASSERT(offsetof(struct containerv_stats, network_tx_packets) == 96, tx_packets_at_96);
STATIC_ASSERT(offsetof(struct containerv_stats, total_processes) == 108, total_at_108);
STATIC_ASSERT(sizeof(struct containerv_stats) == 112, stats_size);
STATIC_ASSERT(sizeof(((struct containerv_process_info*)0)->name) == 64, name_64);
STATIC_ASSERT(offsetof(struct containerv_layer, readonly) == 4 * sizeof(void*), readonly_last);
STATIC_ASSERT(CONTAINERV_LAYER_OVERLAY == 3, overlay_3);
STATIC_ASSERT(CV_CAP_USERS == 0x20, users_0x20);

int main(void)
{
    struct containerv_spawn_options so = { NULL, NULL, NULL, CV_SPAWN_WAIT };
    int (*create)(const char*, struct containerv_options*, struct containerv_container**) = containerv_create;
    (void)so;
    (void)create;
    return 0;
}
