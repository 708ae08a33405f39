/* Boot, the byte and timer entry points, sending, and the input queue (sections 4, 7, 8). */
#include "gl_internal.h"

#include <string.h>

uint32_t gl_now(gl_device_t *dev)
{
    return dev->port.millis(dev->port.ctx);
}

void gl_send_frame(gl_device_t *dev, uint8_t type, uint8_t seq, const uint8_t *payload,
                   uint16_t len)
{
    uint8_t *raw = dev->tx_raw;
    size_t n = GL_HEADER_LEN + (size_t)len, wire;
    uint32_t crc;
    raw[0] = GL_PROTOCOL_VERSION;
    raw[1] = type;
    raw[2] = 0; /* flags */
    raw[3] = seq;
    raw[4] = dev->arq.rx_expected;
    raw[5] = (uint8_t)len;
    raw[6] = (uint8_t)(len >> 8);
    memcpy(raw + GL_HEADER_LEN, payload, len);
    crc = gl_crc32(0, raw, n);
    raw[n++] = (uint8_t)crc;
    raw[n++] = (uint8_t)(crc >> 8);
    raw[n++] = (uint8_t)(crc >> 16);
    raw[n++] = (uint8_t)(crc >> 24);
    wire = gl_cobs_encode(raw, n, dev->tx_wire);
    dev->tx_wire[wire++] = 0;
    dev->port.write(dev->port.ctx, dev->tx_wire, wire);
}

void gl_send_unsequenced(gl_device_t *dev, uint8_t type, const uint8_t *payload, uint16_t len)
{
    dev->arq.ack_due = 0;
    gl_send_frame(dev, type, 0, payload, len);
}

void gl_send_nak(gl_device_t *dev, uint8_t ref_seq, uint8_t reason)
{
    uint8_t p[GL_LEN_NAK];
    p[0] = ref_seq;
    p[1] = reason;
    dev->stats.naks_sent++;
    gl_send_unsequenced(dev, GL_T_NAK, p, sizeof p);
}

void gl_send_error(gl_device_t *dev, const gl_frame_t *f, uint8_t reason, const gl_text_t *why)
{
    uint8_t p[GL_MINLEN_ERROR + GL_ERROR_DETAIL_MAX];
    p[0] = f->seq;
    p[1] = f->type;
    p[2] = reason;
    memcpy(p + GL_MINLEN_ERROR, why->buf, why->len); /* ASCII: any cut is a character boundary */
    dev->stats.errors_sent++;
    gl_send_unsequenced(dev, GL_T_ERROR, p, (uint8_t)(GL_MINLEN_ERROR + why->len));
}

static void flush_all(gl_device_t *dev)
{
#if GL_FRONT_IN_PANEL
    const uint8_t *shown = dev->back;
#else
    const uint8_t *shown = dev->front;
#endif
    dev->port.flush(dev->port.ctx, shown, GL_STRIDE, 0, 0, GL_WIDTH_PX, GL_HEIGHT_PX);
}

void gl_boot(gl_device_t *dev, uint8_t cause)
{
    static const uint8_t delimiter = 0;
    dev->stats.boots++;
    memset(dev->back, 0, sizeof dev->back);
#if !GL_FRONT_IN_PANEL
    memset(dev->front, 0, sizeof dev->front);
#endif
    dev->dirty.any = 0;
    dev->mode = 0;
    dev->session = dev->version = 0;
    dev->host_max_payload = GL_MIN_PAYLOAD;
    dev->sleeping = 0;
    dev->brightness = 255;
    dev->reset_cause = cause;
    dev->boot_ms = gl_now(dev);
    dev->boot_reported = dev->boot_event_live = 0;
    dev->queued_in_session = 0;
    dev->reboot_pending = dev->handover_pending = 0;
    dev->evq_tail = dev->evq_head; /* inputs from before the reboot are gone */
    gl_arq_reset(&dev->arq);
    gl_rx_init(&dev->rx, dev->rx_buf, sizeof dev->rx_buf); /* drops a half-received frame */
    flush_all(dev);
    dev->port.panel(dev->port.ctx, 1, dev->brightness);
    dev->port.write(dev->port.ctx, &delimiter, 1); /* ends a partial frame the host holds */
    gl_send_nak(dev, 0, GL_REASON_NO_SESSION);    /* the announcement: "I have just booted" */
}

void gl_init(gl_device_t *dev, const gl_port_t *port, uint8_t cause)
{
    memset(dev, 0, sizeof *dev);
    dev->port = *port;
    gl_boot(dev, cause);
}

static int reboot_due(gl_device_t *dev, uint32_t now_ms)
{
    return dev->reboot_pending && (uint32_t)(now_ms - dev->reboot_at_ms) < 0x80000000u;
}

static void reboot(gl_device_t *dev)
{
    if (dev->port.reset != NULL) {
        dev->port.reset(dev->port.ctx); /* does not return on hardware */
    }
    gl_boot(dev, GL_CAUSE_RESET_MESSAGE);
}

void gl_rx(gl_device_t *dev, const uint8_t *data, size_t len)
{
    size_t i;
    if (dev->mode != 0u) {
        return; /* SMP owns the port now */
    }
    if (reboot_due(dev, gl_now(dev))) {
        reboot(dev);
    }
    for (i = 0; i < len; i++) {
        gl_frame_t f;
        gl_rx_result_t r = gl_rx_push(&dev->rx, data[i], &f);
        if (r == GL_RX_NONE) {
            continue;
        }
        if (r == GL_RX_FRAME) {
            dev->stats.frames++;
            gl_handle_frame(dev, &f, gl_now(dev));
            if (dev->mode != 0u) {
                return;
            }
            continue;
        }
        dev->stats.rejected[r]++;
        /* Data was lost: ask for a go-back now rather than after the host's timeout (§8.3). */
        if (dev->session && gl_arq_nak_once(&dev->arq, gl_now(dev))) {
            gl_send_nak(dev, dev->arq.rx_expected, GL_REASON_BAD_CRC);
        }
    }
}

int gl_queue(gl_device_t *dev, uint8_t type, const uint8_t *payload, uint16_t len)
{
    int log_full = type == GL_T_LOG && gl_arq_pending(&dev->arq) >= GL_PENDING_MAX / 2u;
    if (!dev->session || log_full || !gl_arq_queue(&dev->arq, type, payload, len)) {
        dev->stats.events_dropped++;
        return 0;
    }
    dev->stats.events_queued++;
    dev->queued_in_session++;
    return 1;
}

static void put_event(uint8_t *p, const gl_input_t *e)
{
    p[0] = e->kind;
    p[1] = e->code;
    p[2] = (uint8_t)((uint16_t)e->value & 0xFFu);
    p[3] = (uint8_t)((uint16_t)e->value >> 8);
    p[4] = (uint8_t)e->uptime_ms;
    p[5] = (uint8_t)(e->uptime_ms >> 8);
    p[6] = (uint8_t)(e->uptime_ms >> 16);
    p[7] = (uint8_t)(e->uptime_ms >> 24);
}

static void drain_inputs(gl_device_t *dev)
{
    while (dev->evq_tail != dev->evq_head) {
        uint8_t p[GL_LEN_EVENT];
        put_event(p, &dev->evq[dev->evq_tail % GL_EVQ_LEN]);
        dev->evq_tail = (uint8_t)(dev->evq_tail + 1u);
        (void)gl_queue(dev, GL_T_EVENT, p, sizeof p);
    }
}

static void send_sequenced(void *ctx, uint8_t type, uint8_t seq, const uint8_t *payload,
                           uint16_t len)
{
    gl_send_frame((gl_device_t *)ctx, type, seq, payload, len);
}

void gl_poll(gl_device_t *dev)
{
    uint32_t now_ms;
    if (dev->mode != 0u) {
        return;
    }
    now_ms = gl_now(dev);
    if (reboot_due(dev, now_ms)) {
        reboot(dev);
    }
    drain_inputs(dev);
    if (dev->session && gl_arq_poll(&dev->arq, now_ms, send_sequenced, dev)) {
        gl_send_frame(dev, GL_T_ACK, 0, dev->tx_raw, 0); /* empty payload */
    }
    if (dev->handover_pending) { /* its ACK has just been written: SMP from here on */
        dev->handover_pending = 0;
        dev->mode = 1;
        dev->session = 0;
        dev->port.enter_bootloader(dev->port.ctx, dev->handover_idle_s);
    }
}

int gl_post_event(gl_device_t *dev, uint8_t kind, uint8_t code, int16_t value)
{
    uint8_t head = dev->evq_head;
    gl_input_t *e;
    if ((uint8_t)(head - dev->evq_tail) >= GL_EVQ_LEN) {
        return 0;
    }
    e = &dev->evq[head % GL_EVQ_LEN];
    e->kind = kind;
    e->code = code;
    e->value = value;
    e->uptime_ms = gl_now(dev) - dev->boot_ms;
    dev->evq_head = (uint8_t)(head + 1u); /* publish after the entry is complete */
    return 1;
}

int gl_post_button(gl_device_t *dev, uint8_t button_id, uint8_t action)
{
    return gl_post_event(dev, GL_EVENT_BUTTON, button_id, (int16_t)action);
}

int gl_post_swipe(gl_device_t *dev, uint8_t direction)
{
    return gl_post_event(dev, GL_EVENT_SWIPE, direction, 0);
}

int gl_post_battery(gl_device_t *dev, uint8_t percent, int charging)
{
    return gl_post_event(dev, GL_EVENT_BATTERY, percent > 100u ? 100u : percent,
                         (int16_t)(charging != 0));
}

int gl_post_worn(gl_device_t *dev, int worn)
{
    return gl_post_event(dev, GL_EVENT_WORN, (uint8_t)(worn != 0), 0);
}

int gl_post_temperature(gl_device_t *dev, int16_t centi_celsius)
{
    return gl_post_event(dev, GL_EVENT_TEMPERATURE, 0, centi_celsius);
}

int gl_log(gl_device_t *dev, uint8_t level, const char *text, size_t len)
{
    uint8_t p[GL_MINLEN_LOG + GL_LOG_TEXT_MAX];
    size_t room = dev->host_max_payload - (size_t)GL_MINLEN_LOG, n;
    if (room > GL_LOG_TEXT_MAX) {
        room = GL_LOG_TEXT_MAX;
    }
    n = len < room ? len : room;
    /* Cut on a character boundary: never leave a lone lead or continuation byte at the end. */
    if (n < len) {
        while (n > 0u && ((uint8_t)text[n] & 0xC0u) == 0x80u) {
            n--;
        }
    }
    p[0] = level;
    memcpy(p + GL_MINLEN_LOG, text, n);
    return gl_queue(dev, GL_T_LOG, p, (uint16_t)(GL_MINLEN_LOG + n));
}

const uint8_t *gl_back(const gl_device_t *dev)
{
    return dev->back;
}

const uint8_t *gl_front(const gl_device_t *dev)
{
#if GL_FRONT_IN_PANEL
    (void)dev;
    return NULL;
#else
    return dev->front;
#endif
}
