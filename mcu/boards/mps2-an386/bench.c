/* Benchmark firmware for scripts/bench_mcu.py: gl_rx over host streams that qemu's
 * -device loader put at __stream_start, timed with SysTick. Under -icount shift=0 every
 * instruction takes 1 ns of virtual time, so a 25 MHz SysTick cycle is 40 instructions.
 *
 * Stream: "GLBS", u32 count, then count segments of u32 length + bytes. Each segment is fed in
 * 64-byte chunks (as the main loop does) and gl_poll runs after each chunk; UART0 gets one line
 * per segment: "seg INDEX BYTES TICKS", then "done". The device's own output is dropped. */
#include <string.h>

#include "board.h"
#include "gl_device.h"

extern const uint8_t __stream_start[];

static gl_device_t dev;
static uint8_t panel[GL_FB_BYTES] __attribute__((section(".panel"))); /* not MCU RAM */

static void port_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
}

static void port_flush(void *ctx, const uint8_t *rect, size_t stride, uint16_t x_px,
                       uint16_t y_px, uint16_t width_px, uint16_t height_px)
{
    (void)ctx;
    board_panel_copy(panel, rect, stride, x_px, y_px, width_px, height_px);
}

static void port_panel(void *ctx, int on, uint8_t brightness)
{
    (void)ctx;
    (void)on;
    (void)brightness;
}

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_uint(uint64_t value)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (n > 0u) {
        board_uart_putc(UART0, (uint8_t)digits[--n]);
    }
}

int main(void)
{
    static const gl_port_t port = {NULL, port_write, board_port_millis, port_flush, port_panel, NULL,
                                   NULL};
    const uint8_t *p = __stream_start;
    uint32_t i, count;
    board_init();
    if (memcmp(p, "GLBS", 4) != 0) {
        board_uart_puts(UART0, "error no stream at __stream_start (qemu -device loader)\n");
        for (;;) {
        }
    }
    count = u32(p + 4);
    p += 8;
    gl_init(&dev, &port, GL_CAUSE_POWER_ON);
    for (i = 0; i < count; i++) {
        uint32_t len = u32(p), at;
        uint64_t t0 = board_ticks(), ticks;
        p += 4;
        for (at = 0; at < len; at += 64u) {
            gl_rx(&dev, p + at, len - at < 64u ? len - at : 64u);
            gl_poll(&dev);
        }
        ticks = board_ticks() - t0;
        p += len;
        board_uart_puts(UART0, "seg ");
        put_uint(i);
        board_uart_puts(UART0, " ");
        put_uint(len);
        board_uart_puts(UART0, " ");
        put_uint(ticks);
        board_uart_puts(UART0, "\n");
    }
    board_uart_puts(UART0, "done\n");
    for (;;) {
        __asm__ volatile("wfi");
    }
}
