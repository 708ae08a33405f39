/* The debug channel on UART1: text lines that inject inputs and report the panel, for the
 * launcher (hw_sim/qemu_device.py) and the tests. See docs/firmware.md. */
#ifndef DEBUG_H
#define DEBUG_H

#include <stdint.h>

#include "gl_device.h"

/* What the launcher reads: the panel memory's address and state, and counters. */
typedef struct {
    uint8_t on, brightness;
    uint32_t flushes, rx_bytes;
    uint64_t rx_ticks; /* SysTick cycles spent in gl_rx */
} board_panel_t;

extern board_panel_t board_panel;
extern uint8_t panel_mem[GL_FB_BYTES];

void debug_init(gl_device_t *dev);
/* Read what UART1 holds; run each complete line. Main loop only. */
void debug_poll(void);

#endif /* DEBUG_H */
