/* BLIT's handler on the back buffer: any payload. On an error the buffer must be unchanged;
 * on success only the rectangle may change (checked against a snapshot). */
#include "fuzz_common.h"
#include "gl_fb.h"

static uint8_t back[GL_FB_BYTES], snap[GL_FB_BYTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gl_dirty_t d;
    gl_text_t why;
    uint8_t reason;
    size_t i;
    if (size < GL_BLIT_HEADER_LEN || size > 65535u) {
        return 0;
    }
    for (i = 0; i < GL_FB_BYTES; i++) {
        back[i] = (uint8_t)(i * 31u);
    }
    memcpy(snap, back, sizeof back);
    memset(&d, 0, sizeof d);
    gl_text_clear(&why);
    reason = gl_fb_blit(back, &d, data, (uint16_t)size, &why);
    if (reason != 0u) {
        if (memcmp(back, snap, sizeof back) != 0 || d.any || why.len == 0u) {
            abort();
        }
        return 0;
    }
    for (i = 0; i < GL_FB_BYTES; i++) {
        size_t y = i / GL_STRIDE, xb = i % GL_STRIDE;
        int inside = y >= d.y0 && y < d.y1 && xb >= d.x0 / GL_PPB && xb < d.x1 / GL_PPB;
        if (!inside && back[i] != snap[i]) {
            abort();
        }
    }
    return 0;
}
