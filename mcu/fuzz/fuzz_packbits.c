/* PackBits pass 1 and pass 2 against a plain bounded decoder. Bytes 0-1: the rectangle size
 * (u16, at most 4096); byte 2: its row length; the rest: the stream. */
#include "fuzz_common.h"

static uint8_t out[4096 * 2], ref[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t want, row, i = 3, total = 0, k;
    int ok = 1;
    gl_pb_check_t c;
    gl_cursor_t cur;
    if (size < 3u) {
        return 0;
    }
    want = (size_t)(data[0] | data[1] << 8) % 4097u;
    row = data[2] == 0u ? 1u : data[2];
    if (want == 0u || want % row != 0u) {
        row = want == 0u ? 1u : want;
    }
    while (i < size && ok) { /* the reference: decode into ref, refuse any overrun */
        uint8_t ctl = data[i++];
        if (ctl < 128u) {
            k = (size_t)ctl + 1u;
            if (k > size - i || total + k > want) { ok = 0; break; }
            memcpy(ref + total, data + i, k);
            i += k;
        } else if (ctl > 128u) {
            k = 257u - (size_t)ctl;
            if (i >= size || total + k > want) { ok = 0; break; }
            memset(ref + total, data[i++], k);
        } else {
            continue;
        }
        total += k;
    }
    ok = ok && total == want;
    c = gl_packbits_check(data + 3, size - 3u, want);
    if ((c.status == GL_PB_OK) != ok) {
        abort();
    }
    if (!ok) {
        return 0;
    }
    memset(out, 0xA5, sizeof out);
    cur.row = out;
    cur.col = 0;
    cur.row_bytes = row;
    cur.stride = row;
    gl_packbits_write(data + 3, size - 3u, &cur);
    if (memcmp(out, ref, want) != 0 || out[want] != 0xA5u) {
        abort();
    }
    return 0;
}
