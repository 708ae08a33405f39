/* The whole device. Byte 0: bit 0 = the port has a bootloader; bit 1 = frame mode. Stream
 * mode: the rest is the wire (a poll and 7 ms after every delimiter). Frame mode: records of
 * [u8 n][n bytes: header then payload], sent as valid frames (length, CRC and COBS added), so
 * the fuzzer gets past the CRC into sessions, sequencing and messages; 40 ms per record, so
 * retransmission timeouts and the RESET reboot fire. */
#include "fuzz_common.h"

static gl_device_t dev;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i = 1;
    if (size == 0u) {
        return 0;
    }
    fz_init(&dev, data[0] & 1u);
    if ((data[0] & 2u) == 0u) {
        for (; i < size; i++) {
            gl_rx(&dev, data + i, 1);
            if (data[i] == 0u) {
                fz_clock_ms += 7u;
                gl_poll(&dev);
            }
        }
        gl_poll(&dev);
        return 0;
    }
    while (i < size) {
        size_t n = data[i++];
        if (n > size - i) {
            n = size - i;
        }
        if (n >= 7u) {
            fz_send(&dev, data[i], data[i + 1], data[i + 3], data[i + 4], data + i + 7, n - 7u);
        } else if (n > 0u) {
            (void)gl_post_event(&dev, data[i], (uint8_t)n, (int16_t)data[i]);
            (void)gl_log(&dev, data[i], (const char *)data + i, n);
        }
        i += n;
        fz_clock_ms += 40u;
        gl_poll(&dev);
    }
    return 0;
}
