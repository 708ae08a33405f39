/* Framing receiver: delimiters, streaming in-place COBS, CRC-32, resync and overflow (§3, §4). */
#include "gl_rx.h"

#include "gl_protocol.h"

size_t gl_rx_capacity(size_t max_payload)
{
    size_t raw = GL_HEADER_LEN + max_payload + GL_CRC_LEN;
    return raw + raw / GL_COBS_MAX_BLOCK + 1u;
}

static void restart(gl_rx_t *rx)
{
    rx->encoded = 0;
    rx->len = 0;
    rx->crc = 0xFFFFFFFFu;
    rx->cobs.left = 0;
    rx->cobs.zero_next = 0;
}

void gl_rx_init(gl_rx_t *rx, uint8_t *buf, size_t cap)
{
    rx->buf = buf;
    rx->cap = cap;
    rx->discarding = 0;
    restart(rx);
}

/* Append a decoded byte; the byte 4 places back can no longer be part of the CRC field. */
static void append(gl_rx_t *rx, uint8_t b)
{
    if (rx->len >= GL_CRC_LEN) {
        rx->crc = gl_crc32_step(rx->crc, rx->buf[rx->len - GL_CRC_LEN]);
    }
    rx->buf[rx->len++] = b;
}

static gl_rx_result_t end_of_frame(gl_rx_t *rx, gl_frame_t *frame)
{
    const uint8_t *p = rx->buf;
    size_t n = rx->len;
    uint32_t crc_rx;
    uint16_t length;
    if (rx->cobs.left != 0u) {
        return GL_RX_COBS; /* the last block claims more bytes than arrived */
    }
    if (n < GL_HEADER_LEN + GL_CRC_LEN) {
        return GL_RX_SHORT;
    }
    crc_rx = (uint32_t)p[n - 4u] | (uint32_t)p[n - 3u] << 8 | (uint32_t)p[n - 2u] << 16 |
             (uint32_t)p[n - 1u] << 24;
    if ((rx->crc ^ 0xFFFFFFFFu) != crc_rx) {
        return GL_RX_CRC;
    }
    length = (uint16_t)(p[5] | (uint16_t)(p[6] << 8));
    if ((size_t)length != n - GL_HEADER_LEN - GL_CRC_LEN) {
        return GL_RX_LENGTH;
    }
    frame->version = p[0];
    frame->type = p[1];
    frame->flags = p[2];
    frame->seq = p[3];
    frame->ack = p[4];
    frame->length = length;
    frame->payload = p + GL_HEADER_LEN;
    return GL_RX_FRAME;
}

gl_rx_result_t gl_rx_push(gl_rx_t *rx, uint8_t b, gl_frame_t *frame)
{
    gl_rx_result_t r;
    if (b != 0u) {
        if (rx->discarding) {
            return GL_RX_NONE;
        }
        if (rx->encoded == rx->cap) { /* frame too long: resync at the next delimiter */
            rx->discarding = 1;
            restart(rx);
            return GL_RX_NONE;
        }
        rx->encoded++;
        if (rx->cobs.left == 0u) { /* a code byte: the previous block's zero, then a block */
            if (rx->cobs.zero_next) {
                append(rx, 0);
            }
            rx->cobs.left = (uint8_t)(b - 1u);
            rx->cobs.zero_next = (uint8_t)(b != 0xFFu);
        } else {
            append(rx, b);
            rx->cobs.left--;
        }
        return GL_RX_NONE;
    }
    if (rx->discarding) {
        rx->discarding = 0;
        return GL_RX_OVERFLOW;
    }
    if (rx->encoded == 0u) {
        return GL_RX_NONE; /* idle fill */
    }
    r = end_of_frame(rx, frame);
    restart(rx);
    return r;
}
