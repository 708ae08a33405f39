/* CRC-32, COBS and PackBits (docs/protocol.md sections 3.2, 3.3 and 10): pure functions over
 * bounded buffers, shared by the receiver, the sender and the frame buffer. */
#ifndef GL_CODEC_H
#define GL_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32/ISO-HDLC of p[0..n) continuing `crc` (start with 0): the spec's crc32_update. */
uint32_t gl_crc32(uint32_t crc, const uint8_t *p, size_t n);
/* One byte into the running (pre-inverted, start 0xFFFFFFFF) CRC register. */
uint32_t gl_crc32_step(uint32_t reg, uint8_t b);

/* COBS-encode in[0..n) into out (room for n + n / 254 + 1 bytes); returns the length. */
size_t gl_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);

/* Streaming COBS decoder: one byte at a time, output never ahead of input (in place). */
typedef struct {
    uint8_t left;      /* data bytes still due in the current block */
    uint8_t zero_next; /* the finished block implies a 0x00 if more blocks follow */
} gl_cobs_dec_t;

/* PackBits (section 10): the first error of a stream, as the spec's pass 1 finds it. */
typedef enum {
    GL_PB_OK = 0,
    GL_PB_LITERAL_PAST_END, /* a literal chunk runs past the end of the data */
    GL_PB_NO_REPEAT_VALUE,  /* a repeat chunk without its value byte */
    GL_PB_OVERRUN,          /* more output than the rectangle holds */
    GL_PB_SHORT             /* less output than the rectangle holds */
} gl_pb_status_t;

typedef struct {
    gl_pb_status_t status;
    size_t offset;   /* LITERAL_PAST_END / NO_REPEAT_VALUE: offset of the control byte */
    size_t chunk;    /* LITERAL_PAST_END: the literal's length */
    size_t produced; /* SHORT: bytes the stream decodes to */
} gl_pb_check_t;

/* Pass 1: does data[0..n) decode to exactly `size` bytes? Reads only, writes nothing. */
gl_pb_check_t gl_packbits_check(const uint8_t *data, size_t n, size_t size);

/* Where decoded bytes go: rows of row_bytes, stride apart (a rectangle of a frame buffer). */
typedef struct {
    uint8_t *row;
    size_t col, row_bytes, stride;
} gl_cursor_t;

/* Pass 2, only after gl_packbits_check() said GL_PB_OK: decode into the cursor. */
void gl_packbits_write(const uint8_t *data, size_t n, gl_cursor_t *cur);

/* 1 if p[0..n) is strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
int gl_utf8_valid(const uint8_t *p, size_t n);

#endif /* GL_CODEC_H */
