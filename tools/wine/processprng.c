/*
 * bcryptprimitives.dll shim for Wine 8.
 *
 * Rust's std (1.78 and later) calls ProcessPrng from bcryptprimitives.dll to
 * seed HashMap keys; Wine 8 does not have that export, so every Rust program
 * fails to start. This DLL exports ProcessPrng and forwards to RtlGenRandom
 * (SystemFunction036 in advapi32). It is only for running tests under Wine;
 * real Windows has its own bcryptprimitives.dll.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll processprng.c -ladvapi32
 */
#include <windows.h>

typedef BOOLEAN(WINAPI *rtl_gen_random_fn)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    static rtl_gen_random_fn gen;
    if (!gen) {
        HMODULE adv = LoadLibraryA("advapi32.dll");
        if (!adv)
            return FALSE;
        gen = (rtl_gen_random_fn)(void *)GetProcAddress(adv, "SystemFunction036");
        if (!gen)
            return FALSE;
    }
    /* RtlGenRandom takes a ULONG length: feed it in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!gen(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
