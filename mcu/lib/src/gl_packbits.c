/* PackBits decoding in place (section 10.2): pass 1 validates, pass 2 writes through a cursor
 * over the rectangle's rows, so a bad stream never touches the frame buffer. */
#include "gl_codec.h"

gl_pb_check_t gl_packbits_check(const uint8_t *data, size_t n, size_t size)
{
    gl_pb_check_t r = {GL_PB_OK, 0, 0, 0};
    size_t i = 0, total = 0;
    while (i < n) {
        uint8_t c = data[i++];
        size_t k;
        if (c < 128u) {
            k = (size_t)c + 1u;
            if (k > n - i) {
                r.status = GL_PB_LITERAL_PAST_END;
                r.offset = i - 1u;
                r.chunk = k;
                return r;
            }
            i += k;
        } else if (c > 128u) {
            k = 257u - (size_t)c;
            if (i >= n) {
                r.status = GL_PB_NO_REPEAT_VALUE;
                r.offset = i - 1u;
                return r;
            }
            i += 1u;
        } else {
            continue; /* 128: no-op */
        }
        if (k > size - total) {
            r.status = GL_PB_OVERRUN;
            return r;
        }
        total += k;
    }
    if (total != size) {
        r.status = GL_PB_SHORT;
        r.produced = total;
    }
    return r;
}

static void put(gl_cursor_t *cur, uint8_t b)
{
    cur->row[cur->col++] = b;
    if (cur->col == cur->row_bytes) {
        cur->col = 0;
        cur->row += cur->stride;
    }
}

void gl_packbits_write(const uint8_t *data, size_t n, gl_cursor_t *cur)
{
    size_t i = 0, k;
    while (i < n) {
        uint8_t c = data[i++];
        if (c < 128u) {
            for (k = (size_t)c + 1u; k > 0u; k--) {
                put(cur, data[i++]);
            }
        } else if (c > 128u) {
            uint8_t v = data[i++];
            for (k = 257u - (size_t)c; k > 0u; k--) {
                put(cur, v);
            }
        }
    }
}
