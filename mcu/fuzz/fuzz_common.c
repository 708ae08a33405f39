/* Helpers of the fuzz targets (fuzz_common.h). */
#include "fuzz_common.h"

uint32_t fz_clock_ms;
static size_t fz_written;
int fz_smp;

static void fz_write(void *ctx, const uint8_t *p, size_t n)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < n; i++) {
        fz_written += p[i]; /* read every byte: ASan checks the buffer */
    }
}

static uint32_t fz_millis(void *ctx)
{
    (void)ctx;
    return fz_clock_ms;
}

static void fz_flush(void *ctx, const uint8_t *rect, size_t stride, uint16_t x, uint16_t y,
                     uint16_t w, uint16_t h)
{
    size_t r, c, row_bytes = w / GL_PPB;
    (void)ctx;
    if ((uint32_t)x + w > GL_WIDTH_PX || (uint32_t)y + h > GL_HEIGHT_PX || w == 0u || h == 0u) {
        abort(); /* the library must only flush rectangles on the panel */
    }
    for (r = 0; r < h; r++) {
        for (c = 0; c < row_bytes; c++) {
            fz_written += rect[r * stride + c];
        }
    }
}

static void fz_panel(void *ctx, int on, uint8_t level)
{
    (void)ctx;
    fz_written += (size_t)on + level;
}

static void fz_bootloader(void *ctx, uint16_t idle_s)
{
    (void)ctx;
    (void)idle_s;
    fz_smp = 1;
}

void fz_init(gl_device_t *dev, int bootloader)
{
    gl_port_t port;
    port.ctx = NULL;
    port.write = fz_write;
    port.millis = fz_millis;
    port.flush = fz_flush;
    port.panel = fz_panel;
    port.reset = NULL;
    port.enter_bootloader = bootloader ? fz_bootloader : NULL;
    fz_clock_ms = 0;
    fz_smp = 0;
    gl_init(dev, &port, GL_CAUSE_POWER_ON);
}

void fz_send(gl_device_t *dev, uint8_t version, uint8_t type, uint8_t seq, uint8_t ack,
                    const uint8_t *payload, size_t n)
{
    static uint8_t raw[GL_RAW_MAX + 16], wire[GL_MAX_ENCODED + 16];
    size_t len;
    uint32_t crc;
    if (n > GL_MAX_PAYLOAD) {
        n = GL_MAX_PAYLOAD;
    }
    raw[0] = version;
    raw[1] = type;
    raw[2] = 0;
    raw[3] = seq;
    raw[4] = ack;
    raw[5] = (uint8_t)n;
    raw[6] = (uint8_t)(n >> 8);
    if (n > 0u) {
        memcpy(raw + 7, payload, n);
    }
    crc = gl_crc32(0, raw, n + 7u);
    raw[n + 7u] = (uint8_t)crc;
    raw[n + 8u] = (uint8_t)(crc >> 8);
    raw[n + 9u] = (uint8_t)(crc >> 16);
    raw[n + 10u] = (uint8_t)(crc >> 24);
    len = gl_cobs_encode(raw, n + 11u, wire);
    wire[len++] = 0;
    gl_rx(dev, wire, len);
}

