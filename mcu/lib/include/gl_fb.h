/* The back buffer's drawing commands (section 9): each validates completely, then writes. */
#ifndef GL_FB_H
#define GL_FB_H

#include <stdint.h>

#include "gl_text.h"

/* The rectangle changed since the last PRESENT, in pixels, half-open; empty when !any. */
typedef struct {
    uint16_t x0, y0, x1, y1;
    uint8_t any;
} gl_dirty_t;

void gl_dirty_add(gl_dirty_t *d, uint16_t x, uint16_t y, uint16_t w, uint16_t h);

/* Each returns 0 and draws, or returns the ERROR reason with its detail and changes nothing. */
uint8_t gl_fb_blit(uint8_t *back, gl_dirty_t *d, const uint8_t *payload, uint16_t len,
                   gl_text_t *why);
uint8_t gl_fb_copy(uint8_t *back, gl_dirty_t *d, const uint8_t *payload, gl_text_t *why);
uint8_t gl_fb_clear(uint8_t *back, gl_dirty_t *d, uint8_t level, gl_text_t *why);

#endif /* GL_FB_H */
