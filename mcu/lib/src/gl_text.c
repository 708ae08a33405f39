/* ERROR detail text without printf: the same words the simulator sends. */
#include "gl_text.h"

static void put(gl_text_t *t, char c)
{
    if (t->len < sizeof t->buf) {
        t->buf[t->len++] = c;
    }
}

void gl_text_clear(gl_text_t *t)
{
    t->len = 0;
}

void gl_text_str(gl_text_t *t, const char *s)
{
    while (*s != '\0') {
        put(t, *s++);
    }
}

void gl_text_uint(gl_text_t *t, unsigned long v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0u) {
        put(t, digits[--n]);
    }
}

void gl_text_hex8(gl_text_t *t, uint8_t v)
{
    static const char hex[] = "0123456789abcdef";
    put(t, '0');
    put(t, 'x');
    put(t, hex[v >> 4]);
    put(t, hex[v & 0x0Fu]);
}
