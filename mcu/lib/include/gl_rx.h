/* The receive path of section 4, one byte at a time in constant work: COBS is decoded in
 * place and the CRC computed as bytes arrive, so a delimiter only compares a few values. */
#ifndef GL_RX_H
#define GL_RX_H

#include <stddef.h>
#include <stdint.h>

#include "gl_codec.h"

/* What a byte completed: nothing yet, a checked frame, or a rejection named as in section 3.4. */
typedef enum {
    GL_RX_NONE = 0,
    GL_RX_FRAME,
    GL_RX_OVERFLOW,
    GL_RX_COBS,
    GL_RX_SHORT,
    GL_RX_CRC,
    GL_RX_LENGTH
} gl_rx_result_t;

#define GL_RX_RESULTS 7

typedef struct {
    uint8_t *buf;       /* cap bytes: the decoded frame */
    size_t cap;         /* max_encoded of section 3.6 */
    size_t encoded;     /* encoded bytes since the last delimiter */
    size_t len;         /* decoded bytes */
    uint32_t crc;       /* running CRC register over buf[0 .. len - 4) */
    gl_cobs_dec_t cobs;
    uint8_t discarding; /* overflow: skip to the next 0x00 */
} gl_rx_t;

/* A frame that passed every check of section 3.4. `payload` points into the receive buffer
 * and stays valid until the next byte is pushed. */
typedef struct {
    uint8_t version, type, flags, seq, ack;
    uint16_t length;
    const uint8_t *payload;
} gl_frame_t;

void gl_rx_init(gl_rx_t *rx, uint8_t *buf, size_t cap);
/* Push one byte; on GL_RX_FRAME, *frame describes the frame. */
gl_rx_result_t gl_rx_push(gl_rx_t *rx, uint8_t b, gl_frame_t *frame);
/* max_encoded for a receiver that accepts payloads up to max_payload (section 3.6). */
size_t gl_rx_capacity(size_t max_payload);

#endif /* GL_RX_H */
