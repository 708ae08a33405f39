/* COPY's handler against a plain reference: the whole source read first (a temporary copy),
 * then written; any overlap. On an error nothing changes. */
#include "fuzz_common.h"
#include "gl_fb.h"

static uint8_t back[GL_FB_BYTES], ref[GL_FB_BYTES], tmp[GL_FB_BYTES];

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gl_dirty_t d;
    gl_text_t why;
    size_t i, r;
    if (size < GL_LEN_COPY) {
        return 0;
    }
    for (i = 0; i < GL_FB_BYTES; i++) {
        back[i] = (uint8_t)(i * 7u + (size > GL_LEN_COPY ? data[GL_LEN_COPY + i % (size - GL_LEN_COPY)] : 0u));
    }
    memcpy(ref, back, sizeof back);
    memset(&d, 0, sizeof d);
    gl_text_clear(&why);
    if (gl_fb_copy(back, &d, data, &why) != 0u) {
        if (memcmp(back, ref, sizeof back) != 0) {
            abort();
        }
        return 0;
    }
    {
        uint16_t sx = u16(data), sy = u16(data + 2), w = u16(data + 4), h = u16(data + 6);
        uint16_t dx = u16(data + 8), dy = u16(data + 10);
        size_t n = w / GL_PPB;
        for (r = 0; r < h; r++) {
            memcpy(tmp + r * n, ref + (sy + r) * GL_STRIDE + sx / GL_PPB, n);
        }
        for (r = 0; r < h; r++) {
            memcpy(ref + (dy + r) * GL_STRIDE + dx / GL_PPB, tmp + r * n, n);
        }
    }
    if (memcmp(back, ref, sizeof back) != 0) {
        abort();
    }
    return 0;
}
