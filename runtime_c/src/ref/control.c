/* Reference helpers of the control-flow ops: see dlgen/control.h. */
#include <string.h>

#include "dlgen/control.h"

void dlg_slice_get(void *dst, const void *src, size_t outer, size_t n, size_t inner, size_t t)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src + t * inner;
    size_t o;
    for (o = 0; o < outer; ++o) {
        memcpy(d + o * inner, s + o * n * inner, inner);
    }
}

void dlg_slice_put(void *dst, const void *src, size_t outer, size_t n, size_t inner, size_t t)
{
    unsigned char *d = (unsigned char *)dst + t * inner;
    const unsigned char *s = (const unsigned char *)src;
    size_t o;
    for (o = 0; o < outer; ++o) {
        memcpy(d + o * n * inner, s + o * inner, inner);
    }
}
