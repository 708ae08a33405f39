/* The display MCU's side of the link protocol v1 (docs/protocol.md), for bare-metal firmware.
 *
 *     static gl_device_t dev;                       // static: 128 KB and more for big panels
 *     gl_init(&dev, &port, GL_CAUSE_POWER_ON);      // reset cause read from the MCU
 *     for (;;) {
 *         n = uart_ring_read(buf, sizeof buf);      // filled by the UART ISR or DMA
 *         gl_rx(&dev, buf, n);
 *         gl_poll(&dev);                            // at least every few milliseconds
 *     }
 *
 * gl_rx, gl_poll and gl_log run in one context (the main loop); gl_post_event may be called
 * from one interrupt handler at the same time (a single-producer ring). No heap, no recursion,
 * constant work per received byte; a frame's command runs when its delimiter arrives. */
#ifndef GL_DEVICE_H
#define GL_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "gl_arq.h"
#include "gl_config.h"
#include "gl_fb.h"
#include "gl_port.h"
#include "gl_rx.h"

typedef struct {
    uint32_t frames;                     /* valid frames received */
    uint32_t rejected[GL_RX_RESULTS];    /* by gl_rx_result_t: overflow, cobs, short, crc, length */
    uint32_t naks_sent, errors_sent;
    uint32_t events_queued, events_dropped;
    uint32_t blits, presents, last_frame_id;
    uint32_t sessions, boots;
    uint32_t errors_received;            /* ERROR messages from the host (logged by nobody) */
} gl_stats_t;

typedef struct {
    uint8_t kind, code;
    int16_t value;
    uint32_t uptime_ms;
} gl_input_t;

typedef struct gl_device {
    gl_port_t port;
    gl_rx_t rx;
    gl_arq_t arq;
    gl_stats_t stats;
    uint8_t mode; /* 0: display protocol; 1: handed over to SMP (section 11) until gl_init */
    uint8_t session, version, sleeping, brightness, reset_cause;
    uint16_t host_max_payload;
    uint32_t boot_ms;
    uint8_t boot_reported, boot_event_live; /* EVENT(BOOT) made; not yet known acknowledged */
    uint32_t boot_uptime_ms, queued_in_session;
    uint8_t reboot_pending, handover_pending;
    uint32_t reboot_at_ms;
    uint16_t handover_idle_s;
    volatile uint8_t evq_head, evq_tail; /* head: written by gl_post_event; tail: by gl_poll */
    gl_input_t evq[GL_EVQ_LEN];
    gl_dirty_t dirty; /* back buffer changed since the last PRESENT */
    uint8_t tx_raw[GL_TX_RAW_MAX];
    uint8_t tx_wire[GL_TX_WIRE_MAX];
    uint8_t rx_buf[GL_MAX_ENCODED];
    uint8_t back[GL_FB_BYTES];
#if !GL_FRONT_IN_PANEL
    uint8_t front[GL_FB_BYTES];
#endif
} gl_device_t;

/* Boot: both frame buffers level 0 (flushed to the panel), panel on at brightness 255, no
 * session; sends 0x00 and the announcement NAK(0, NO_SESSION). `cause` (enum gl_cause) goes
 * into the BOOT event of the first session. */
void gl_init(gl_device_t *dev, const gl_port_t *port, uint8_t cause);

/* Bytes received from the host, in order. */
void gl_rx(gl_device_t *dev, const uint8_t *data, size_t len);

/* Timers and output: acknowledgements, EVENT / LOG (with retransmission), the delayed reboot
 * after RESET and the SMP handover after ENTER_BOOTLOADER. */
void gl_poll(gl_device_t *dev);

/* Queue an input event (section 6.2) stamped with the uptime now; 0 if the ring is full.
 * Without a session it is dropped at the next gl_poll, as section 7.2 says. */
int gl_post_event(gl_device_t *dev, uint8_t kind, uint8_t code, int16_t value);
int gl_post_button(gl_device_t *dev, uint8_t button_id, uint8_t action);
int gl_post_swipe(gl_device_t *dev, uint8_t direction);
int gl_post_battery(gl_device_t *dev, uint8_t percent, int charging);
int gl_post_worn(gl_device_t *dev, int worn);
int gl_post_temperature(gl_device_t *dev, int16_t centi_celsius);

/* Queue a LOG line (section 5.2), cut on a UTF-8 boundary to what every host accepts; 0 if
 * dropped (no session, or LOG already fills half the send queue). Main loop only. */
int gl_log(gl_device_t *dev, uint8_t level, const char *text, size_t len);

/* The back buffer (BLIT, COPY, CLEAR draw there), GL_HEIGHT_PX rows of GL_STRIDE bytes. */
const uint8_t *gl_back(const gl_device_t *dev);
/* The front buffer in RAM, or NULL with GL_FRONT_IN_PANEL (the panel holds it). */
const uint8_t *gl_front(const gl_device_t *dev);

#endif /* GL_DEVICE_H */
