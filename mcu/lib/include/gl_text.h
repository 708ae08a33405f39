/* A bounded text builder for ERROR details: appends are cut at the capacity, never overflow. */
#ifndef GL_TEXT_H
#define GL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "gl_config.h"

typedef struct {
    char buf[GL_ERROR_DETAIL_MAX];
    uint8_t len;
} gl_text_t;

void gl_text_clear(gl_text_t *t);
void gl_text_str(gl_text_t *t, const char *s);
void gl_text_uint(gl_text_t *t, unsigned long v);
void gl_text_hex8(gl_text_t *t, uint8_t v); /* "0x05", as Python's f"{v:#04x}" */

#endif /* GL_TEXT_H */
