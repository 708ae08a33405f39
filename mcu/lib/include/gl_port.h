/* What the firmware author provides: the board under the protocol library.
 *
 * All callbacks are called from the context that calls gl_rx() and gl_poll() (the main loop),
 * except millis(), which gl_post_event() also calls from wherever it is called. */
#ifndef GL_PORT_H
#define GL_PORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct gl_port {
    void *ctx; /* passed back to every callback */

    /* Queue bytes for the UART (or USB-CDC). Must take all of them: block, or put them in a TX
     * ring of at least 2 x (GL_WINDOW + 2) x 77 bytes. */
    void (*write)(void *ctx, const uint8_t *data, size_t len);

    /* Milliseconds since boot (wrapping at 2^32). */
    uint32_t (*millis)(void *ctx);

    /* Show a rectangle on the panel: `rect` is its top-left byte, rows are `stride` bytes apart,
     * each width_px / (8 / bpp) bytes, packed as in section 9.2. With GL_FRONT_IN_PANEL the
     * rows are in the back buffer, which changes after the call returns: copy them into the
     * panel's memory before returning. Otherwise they are in the front buffer, which stays
     * unchanged until the next flush (DMA from it is fine). */
    void (*flush)(void *ctx, const uint8_t *rect, size_t stride, uint16_t x_px, uint16_t y_px,
                  uint16_t width_px, uint16_t height_px);

    /* Panel power and brightness: on = 0 while asleep (SLEEP), brightness 0..255 (section 9.5). */
    void (*panel)(void *ctx, int on, uint8_t brightness);

    /* RESET, about 100 ms after it was acknowledged: reboot the MCU (does not return); the next
     * gl_init() gets GL_CAUSE_RESET_MESSAGE. NULL: the library restarts itself in place. */
    void (*reset)(void *ctx);

    /* ENTER_BOOTLOADER accepted and acknowledged (section 11): wait until the UART has sent
     * every queued byte, then run SMP until a reset. NULL: the firmware has no bootloader and
     * the message is answered with ERROR UNKNOWN_TYPE. */
    void (*enter_bootloader)(void *ctx, uint16_t idle_timeout_s);
} gl_port_t;

/* Reset causes, the `code` of the BOOT event (section 6.2). */
enum gl_cause {
    GL_CAUSE_POWER_ON = 0,
    GL_CAUSE_WATCHDOG = 1,
    GL_CAUSE_RESET_MESSAGE = 2
};

#endif /* GL_PORT_H */
