/* The framing receiver alone: any byte stream, any receive buffer size. Every frame it returns
 * must be consistent with its buffer (length field, CRC, bounds). */
#include "fuzz_common.h"
#include "gl_rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t payloads[4] = {64, 256, 1024, 4096};
    static uint8_t buf[4096 + 64];
    gl_rx_t rx;
    size_t i, cap;
    if (size == 0u) {
        return 0;
    }
    cap = gl_rx_capacity(payloads[data[0] & 3u]);
    gl_rx_init(&rx, buf, cap);
    for (i = 1; i < size; i++) {
        gl_frame_t f;
        if (gl_rx_push(&rx, data[i], &f) == GL_RX_FRAME) {
            size_t raw = (size_t)f.length + GL_HEADER_LEN + GL_CRC_LEN;
            uint32_t crc = gl_crc32(0, buf, raw - GL_CRC_LEN);
            if (raw > cap || f.payload != buf + GL_HEADER_LEN ||
                crc != ((uint32_t)buf[raw - 4] | (uint32_t)buf[raw - 3] << 8 |
                        (uint32_t)buf[raw - 2] << 16 | (uint32_t)buf[raw - 1] << 24)) {
                abort();
            }
        }
        if (rx.encoded > cap || rx.len > rx.encoded) {
            abort();
        }
    }
    return 0;
}
