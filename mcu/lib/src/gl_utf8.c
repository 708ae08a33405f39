/* Strict UTF-8 check, as Python's bytes.decode("utf-8") judges it: a LOG or ERROR text that
 * fails it does not decode as its type (section 5.3). */
#include "gl_codec.h"

int gl_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t need, k;
        uint8_t lo = 0x80u, hi = 0xBFu; /* range of the first continuation byte */
        if (b < 0x80u) {
            i++;
            continue;
        }
        if (b >= 0xC2u && b <= 0xDFu) {
            need = 1;
        } else if (b >= 0xE0u && b <= 0xEFu) {
            need = 2;
            if (b == 0xE0u) {
                lo = 0xA0u; /* no overlongs */
            } else if (b == 0xEDu) {
                hi = 0x9Fu; /* no surrogates */
            }
        } else if (b >= 0xF0u && b <= 0xF4u) {
            need = 3;
            if (b == 0xF0u) {
                lo = 0x90u;
            } else if (b == 0xF4u) {
                hi = 0x8Fu; /* nothing above U+10FFFF */
            }
        } else {
            return 0;
        }
        if (n - i - 1u < need) {
            return 0;
        }
        if (p[i + 1u] < lo || p[i + 1u] > hi) {
            return 0;
        }
        for (k = 2; k <= need; k++) {
            if (p[i + k] < 0x80u || p[i + k] > 0xBFu) {
                return 0;
            }
        }
        i += need + 1u;
    }
    return 1;
}
