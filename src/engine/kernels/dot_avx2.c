/*
 * dot_avx2.c: AVX2 (+FMA, F16C) tile kernels. Compiled with per-function
 * target attributes so the rest of the build stays baseline x86-64; only
 * reached after __builtin_cpu_supports says the CPU has them.
 */
#include "kernels_int.h"

const sw_kernel_table *sw_kernels_avx2(void) { return NULL; }
