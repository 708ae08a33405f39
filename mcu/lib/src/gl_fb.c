/* BLIT (raw and PackBits in place), COPY with overlap and CLEAR on the back buffer (§9, §10). */
#include "gl_fb.h"

#include <string.h>

#include "gl_codec.h"

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

void gl_dirty_add(gl_dirty_t *d, uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
    uint16_t x1 = (uint16_t)(x + w), y1 = (uint16_t)(y + h); /* inside the screen: no wrap */
    if (!d->any) {
        d->x0 = x;
        d->y0 = y;
        d->x1 = x1;
        d->y1 = y1;
        d->any = 1;
        return;
    }
    d->x0 = x < d->x0 ? x : d->x0;
    d->y0 = y < d->y0 ? y : d->y0;
    d->x1 = x1 > d->x1 ? x1 : d->x1;
    d->y1 = y1 > d->y1 ? y1 : d->y1;
}

static void rect_text(gl_text_t *t, uint16_t w, uint16_t h, uint16_t x, uint16_t y)
{
    gl_text_uint(t, w);
    gl_text_str(t, "x");
    gl_text_uint(t, h);
    gl_text_str(t, "+");
    gl_text_uint(t, x);
    gl_text_str(t, "+");
    gl_text_uint(t, y);
    gl_text_str(t, " outside ");
    gl_text_uint(t, GL_WIDTH_PX);
    gl_text_str(t, "x");
    gl_text_uint(t, GL_HEIGHT_PX);
}

static void not_multiples(gl_text_t *t)
{
    gl_text_str(t, " not multiples of ");
    gl_text_uint(t, GL_PPB);
    gl_text_str(t, " px");
}

static uint8_t empty(uint16_t w, uint16_t h, gl_text_t *why)
{
    gl_text_str(why, "empty rectangle ");
    gl_text_uint(why, w);
    gl_text_str(why, "x");
    gl_text_uint(why, h);
    return GL_REASON_BAD_RECT;
}

static int outside(uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
    return (uint32_t)x + w > GL_WIDTH_PX || (uint32_t)y + h > GL_HEIGHT_PX;
}

static uint8_t packbits_error(gl_pb_check_t c, unsigned long size, gl_text_t *why)
{
    switch (c.status) {
    case GL_PB_LITERAL_PAST_END:
        gl_text_str(why, "literal of ");
        gl_text_uint(why, (unsigned long)c.chunk);
        gl_text_str(why, " bytes at offset ");
        gl_text_uint(why, (unsigned long)c.offset);
        gl_text_str(why, " runs past the end");
        break;
    case GL_PB_NO_REPEAT_VALUE:
        gl_text_str(why, "repeat at offset ");
        gl_text_uint(why, (unsigned long)c.offset);
        gl_text_str(why, " has no value byte");
        break;
    case GL_PB_OVERRUN:
        gl_text_str(why, "decodes to more than the ");
        gl_text_uint(why, size);
        gl_text_str(why, " bytes expected");
        break;
    default:
        gl_text_str(why, "decodes to ");
        gl_text_uint(why, (unsigned long)c.produced);
        gl_text_str(why, " bytes, expected ");
        gl_text_uint(why, size);
        break;
    }
    return GL_REASON_BAD_ENCODING;
}

uint8_t gl_fb_blit(uint8_t *back, gl_dirty_t *d, const uint8_t *payload, uint16_t len,
                   gl_text_t *why)
{
    uint16_t x = u16(payload), y = u16(payload + 2), w = u16(payload + 4), h = u16(payload + 6);
    uint8_t enc = payload[8];
    const uint8_t *data = payload + GL_BLIT_HEADER_LEN;
    size_t n = (size_t)len - GL_BLIT_HEADER_LEN;
    size_t row_bytes, size, r;
    gl_cursor_t cur;
    if (w == 0u || h == 0u) {
        return empty(w, h, why);
    }
    if (x % GL_PPB != 0u || w % GL_PPB != 0u) {
        gl_text_str(why, "x=");
        gl_text_uint(why, x);
        gl_text_str(why, " w=");
        gl_text_uint(why, w);
        not_multiples(why);
        return GL_REASON_BAD_RECT;
    }
    if (outside(x, y, w, h)) {
        rect_text(why, w, h, x, y);
        return GL_REASON_BAD_RECT;
    }
    row_bytes = w / GL_PPB;
    size = row_bytes * h; /* at most the frame buffer: the rectangle is on screen */
    cur.row = back + (size_t)y * GL_STRIDE + x / GL_PPB;
    cur.col = 0;
    cur.row_bytes = row_bytes;
    cur.stride = GL_STRIDE;
    if (enc == GL_ENC_RAW) {
        if (n != size) {
            gl_text_uint(why, (unsigned long)n);
            gl_text_str(why, " bytes, need ");
            gl_text_uint(why, (unsigned long)size);
            return GL_REASON_BAD_LENGTH;
        }
        for (r = 0; r < h; r++) {
            memcpy(cur.row + r * GL_STRIDE, data + r * row_bytes, row_bytes);
        }
    } else if (enc == GL_ENC_PACKBITS) {
        gl_pb_check_t c = gl_packbits_check(data, n, size);
        if (c.status != GL_PB_OK) {
            return packbits_error(c, (unsigned long)size, why);
        }
        gl_packbits_write(data, n, &cur);
    } else {
        gl_text_str(why, "unknown encoding ");
        gl_text_uint(why, enc);
        return GL_REASON_BAD_ENCODING;
    }
    gl_dirty_add(d, x, y, w, h);
    return 0;
}

uint8_t gl_fb_copy(uint8_t *back, gl_dirty_t *d, const uint8_t *payload, gl_text_t *why)
{
    uint16_t sx = u16(payload), sy = u16(payload + 2), w = u16(payload + 4);
    uint16_t h = u16(payload + 6), dx = u16(payload + 8), dy = u16(payload + 10);
    size_t n, r;
    const uint8_t *src;
    uint8_t *dst;
    if (w == 0u || h == 0u) {
        return empty(w, h, why);
    }
    if (sx % GL_PPB != 0u || dx % GL_PPB != 0u || w % GL_PPB != 0u) {
        gl_text_str(why, "src_x=");
        gl_text_uint(why, sx);
        gl_text_str(why, " dst_x=");
        gl_text_uint(why, dx);
        gl_text_str(why, " w=");
        gl_text_uint(why, w);
        not_multiples(why);
        return GL_REASON_BAD_RECT;
    }
    if (outside(sx, sy, w, h)) {
        gl_text_str(why, "source ");
        rect_text(why, w, h, sx, sy);
        return GL_REASON_BAD_RECT;
    }
    if (outside(dx, dy, w, h)) {
        gl_text_str(why, "destination ");
        rect_text(why, w, h, dx, dy);
        return GL_REASON_BAD_RECT;
    }
    /* Rows in the order that never reads a row already overwritten; memmove within a row. */
    n = w / GL_PPB;
    src = back + (size_t)sy * GL_STRIDE + sx / GL_PPB;
    dst = back + (size_t)dy * GL_STRIDE + dx / GL_PPB;
    if (dy < sy) {
        for (r = 0; r < h; r++) {
            memmove(dst + r * GL_STRIDE, src + r * GL_STRIDE, n);
        }
    } else {
        for (r = h; r-- > 0u;) {
            memmove(dst + r * GL_STRIDE, src + r * GL_STRIDE, n);
        }
    }
    gl_dirty_add(d, dx, dy, w, h);
    return 0;
}

uint8_t gl_fb_clear(uint8_t *back, gl_dirty_t *d, uint8_t level, gl_text_t *why)
{
    uint8_t byte = 0;
    unsigned i;
    if (level > GL_MAX_LEVEL) {
        gl_text_str(why, "level ");
        gl_text_uint(why, level);
        gl_text_str(why, " > ");
        gl_text_uint(why, GL_MAX_LEVEL);
        return GL_REASON_BAD_PAYLOAD;
    }
    for (i = 0; i < GL_PPB; i++) {
        byte = (uint8_t)(byte << GL_BPP | level);
    }
    memset(back, byte, GL_FB_BYTES);
    gl_dirty_add(d, 0, 0, GL_WIDTH_PX, GL_HEIGHT_PX);
    return 0;
}
