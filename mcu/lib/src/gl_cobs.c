/* COBS encoding (section 3.3); decoding is streamed byte by byte in gl_rx.c. */
#include "gl_codec.h"

size_t gl_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_pos = 0, o = 1, i;
    uint8_t code = 1;
    for (i = 0; i < n; i++) {
        if (in[i] == 0u) {
            out[code_pos] = code;
            code_pos = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFFu && i + 1u < n) { /* full block, more input follows */
                out[code_pos] = code;
                code_pos = o++;
                code = 1;
            }
        }
    }
    out[code_pos] = code;
    return o;
}
