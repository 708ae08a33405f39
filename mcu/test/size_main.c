/* A minimal firmware image for `make size`: the library linked with stub port functions, so
 * the ARM sizes count what a real firmware pays for the protocol (plus newlib-nano's start-up). */
#include "gl_device.h"

static gl_device_t dev;
static volatile uint32_t ticks;
static volatile uint8_t uart_data;

static void port_write(void *ctx, const uint8_t *data, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        uart_data = data[i];
    }
}

static uint32_t port_millis(void *ctx)
{
    (void)ctx;
    return ticks;
}

static void port_flush(void *ctx, const uint8_t *rect, size_t stride, uint16_t x, uint16_t y,
                       uint16_t w, uint16_t h)
{
    (void)ctx;
    (void)stride;
    uart_data = (uint8_t)(rect[0] + x + y + w + h);
}

static void port_panel(void *ctx, int on, uint8_t level)
{
    (void)ctx;
    uart_data = (uint8_t)(on + level);
}

static void port_bootloader(void *ctx, uint16_t idle_s)
{
    (void)ctx;
    uart_data = (uint8_t)idle_s;
}

int main(void)
{
    static const gl_port_t port = {0, port_write, port_millis, port_flush, port_panel, 0,
                                   port_bootloader};
    uint8_t b;
    gl_init(&dev, &port, GL_CAUSE_POWER_ON);
    for (;;) {
        b = uart_data;
        gl_rx(&dev, &b, 1);
        gl_poll(&dev);
        (void)gl_post_button(&dev, 0, GL_BUTTON_PRESS);
        (void)gl_log(&dev, GL_LOG_INFO, "x", 1);
    }
}
