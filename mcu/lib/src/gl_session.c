/* Frames in and out of a session: HELLO (§7.3), version checks (§7.4), sequencing (§8.3) and
 * each message of §5 with the payload checks of §5.3. ERROR details are the simulator's words
 * (hw_sim/device.py), so the differential test can compare replies byte for byte. */
#include "gl_internal.h"

#include <string.h>

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static const char *type_name(uint8_t type)
{
    switch (type) {
#define GL_NAME_CASE(name, code, seq, size, var, dir) \
    case code:                                   \
        return #name;
        GL_MESSAGE_TABLE(GL_NAME_CASE)
#undef GL_NAME_CASE
    default:
        return NULL;
    }
}

static void versions_text(gl_text_t *t)
{
    gl_text_str(t, "device supports ");
    gl_text_uint(t, GL_MIN_VERSION);
    gl_text_str(t, "..");
    gl_text_uint(t, GL_MAX_VERSION);
}

static void size_text(gl_text_t *t, uint8_t type, unsigned size, int at_least, unsigned got)
{
    gl_text_str(t, type_name(type));
    gl_text_str(t, at_least ? " payload must be at least " : " payload must be ");
    gl_text_uint(t, size);
    gl_text_str(t, " bytes, got ");
    gl_text_uint(t, got);
}

/* The session starts or ends: both sequence spaces restart and the send queue is lost. */
static void restart_numbering(gl_device_t *dev)
{
    /* Go-back-N acknowledges in order and BOOT went first: any acknowledgement covered it. */
    if (dev->boot_event_live &&
        dev->queued_in_session > (uint32_t)dev->arq.inflight + gl_arq_pending(&dev->arq)) {
        dev->boot_event_live = 0;
    }
    gl_arq_reset(&dev->arq);
    dev->queued_in_session = 0;
}

static void report_boot(gl_device_t *dev, uint32_t now_ms)
{
    uint8_t p[GL_LEN_EVENT];
    uint32_t up;
    if (!dev->boot_reported) {
        dev->boot_reported = 1;
        dev->boot_event_live = 1;
        dev->boot_uptime_ms = now_ms - dev->boot_ms;
    }
    if (!dev->boot_event_live) {
        return;
    }
    up = dev->boot_uptime_ms;
    p[0] = GL_EVENT_BOOT;
    p[1] = dev->reset_cause;
    p[2] = p[3] = 0;
    p[4] = (uint8_t)up;
    p[5] = (uint8_t)(up >> 8);
    p[6] = (uint8_t)(up >> 16);
    p[7] = (uint8_t)(up >> 24);
    (void)gl_queue(dev, GL_T_EVENT, p, sizeof p);
}

static void on_hello(gl_device_t *dev, const gl_frame_t *f, uint32_t now_ms)
{
    static const char board[] = GL_BOARD_ID;
    uint8_t p[GL_MINLEN_HELLO_ACK + GL_MAX_BOARD_ID_LEN];
    gl_text_t why;
    uint8_t lo, hi;
    uint16_t host_max;
    gl_text_clear(&why);
    if (f->version != GL_PROTOCOL_VERSION) {
        gl_text_str(&why, "HELLO header must be v1; ");
        versions_text(&why);
        gl_send_error(dev, f, GL_REASON_UNSUPPORTED_VERSION, &why);
        return;
    }
    if (f->length != GL_LEN_HELLO) {
        size_text(&why, f->type, GL_LEN_HELLO, 0, f->length);
        gl_send_error(dev, f, GL_REASON_BAD_LENGTH, &why);
        return;
    }
    lo = f->payload[GL_OFF_HELLO_MIN_VERSION];
    hi = f->payload[GL_OFF_HELLO_MAX_VERSION];
    lo = lo > GL_MIN_VERSION ? lo : GL_MIN_VERSION;
    hi = hi < GL_MAX_VERSION ? hi : GL_MAX_VERSION;
    dev->version = lo <= hi ? hi : 0u;
    dev->session = dev->version != 0u;
    host_max = u16(f->payload + GL_OFF_HELLO_MAX_PAYLOAD);
    dev->host_max_payload = host_max > GL_MIN_PAYLOAD ? host_max : GL_MIN_PAYLOAD;
    restart_numbering(dev); /* also when no version is in common: that ends a session */
    p[GL_OFF_HELLO_ACK_VERSION] = dev->version;
    p[GL_OFF_HELLO_ACK_MIN_VERSION] = GL_MIN_VERSION;
    p[GL_OFF_HELLO_ACK_MAX_VERSION] = GL_MAX_VERSION;
    put16(p + GL_OFF_HELLO_ACK_WIDTH_PX, GL_WIDTH_PX);
    put16(p + GL_OFF_HELLO_ACK_HEIGHT_PX, GL_HEIGHT_PX);
    p[GL_OFF_HELLO_ACK_BPP] = GL_BPP;
    put16(p + GL_OFF_HELLO_ACK_MAX_PAYLOAD, GL_MAX_PAYLOAD);
    p[GL_OFF_HELLO_ACK_WINDOW] = GL_WINDOW;
    p[GL_OFF_HELLO_ACK_FW_VERSION] = GL_FW_MAJOR;
    p[GL_OFF_HELLO_ACK_FW_VERSION + 1u] = GL_FW_MINOR;
    p[GL_OFF_HELLO_ACK_FW_VERSION + 2u] = GL_FW_PATCH;
    memcpy(p + GL_OFF_HELLO_ACK_SESSION_ID, f->payload + GL_OFF_HELLO_SESSION_ID, 4); /* echoed */
    p[GL_OFF_HELLO_ACK_BOARD_ID - 1u] = (uint8_t)(sizeof board - 1u);
    memcpy(p + GL_OFF_HELLO_ACK_BOARD_ID, board, sizeof board - 1u);
    gl_send_unsequenced(dev, GL_T_HELLO_ACK, p, (uint8_t)(GL_MINLEN_HELLO_ACK + sizeof board - 1u));
    if (dev->session) {
        dev->stats.sessions++;
        report_boot(dev, now_ms);
    }
}

/* The payload does not decode as its type (its sequence number is already consumed). */
static int direction(uint8_t type);

static void bad_payload(gl_device_t *dev, const gl_frame_t *f, const gl_text_t *why)
{
    gl_text_t t;
    int dir = direction(f->type);
    if (f->type == GL_T_ERROR || f->type == GL_T_NAK) {
        return; /* never answer these: that could loop */
    }
    if (f->type == GL_T_ENTER_BOOTLOADER ? dev->port.enter_bootloader != NULL
                                         : dir == GL_DIR_H2D || dir == GL_DIR_BOTH) {
        gl_send_error(dev, f, GL_REASON_BAD_LENGTH, why); /* a type the device accepts */
        return;
    }
    if (dir == GL_DIR_D2H && !GL_IS_SEQUENCED(f->type)) {
        return; /* HELLO_ACK, PONG sent to the device: ignored (section 5.1) */
    }
    gl_text_clear(&t);
    gl_text_str(&t, "type ");
    gl_text_hex8(&t, f->type);
    gl_text_str(&t, " not accepted");
    gl_send_error(dev, f, GL_REASON_UNKNOWN_TYPE, &t);
}

/* The direction of a known type (GL_DIR_*); 0 for an unknown one. */
static int direction(uint8_t type)
{
    switch (type) {
#define GL_DIR_CASE(name, code, seq, size, var, dir) \
    case code:                                       \
        return dir;
        GL_MESSAGE_TABLE(GL_DIR_CASE)
#undef GL_DIR_CASE
    default:
        return 0;
    }
}

/* The exact or minimum payload size of a known type; 0 for an unknown one. */
static int expected_size(uint8_t type, unsigned *size, int *at_least)
{
    switch (type) {
#define GL_SIZE_CASE(name, code, seq, sz, var, dir) \
    case code:                                 \
        *size = sz;                            \
        *at_least = var;                       \
        return 1;
        GL_MESSAGE_TABLE(GL_SIZE_CASE)
#undef GL_SIZE_CASE
    default:
        return 0;
    }
}

static void not_accepted(gl_device_t *dev, const gl_frame_t *f)
{
    gl_text_t t;
    gl_text_clear(&t);
    gl_text_str(&t, type_name(f->type));
    gl_text_str(&t, " not accepted");
    gl_send_error(dev, f, GL_REASON_UNKNOWN_TYPE, &t);
}

/* front := back (section 9.4). Only the rectangle changed since the last PRESENT differs. */
static void present(gl_device_t *dev)
{
    gl_dirty_t *d = &dev->dirty;
    size_t x_byte = d->x0 / GL_PPB, first = (size_t)d->y0 * GL_STRIDE + x_byte;
#if GL_FRONT_IN_PANEL
    const uint8_t *shown = dev->back; /* the panel copies the rectangle into its memory */
#else
    const uint8_t *shown = dev->front;
    size_t row_bytes = (size_t)(d->x1 - d->x0) / GL_PPB, r;
#endif
    if (!d->any) {
        return; /* front == back already */
    }
#if !GL_FRONT_IN_PANEL
    for (r = d->y0; r < d->y1; r++) {
        memcpy(dev->front + r * GL_STRIDE + x_byte, dev->back + r * GL_STRIDE + x_byte,
               row_bytes);
    }
#endif
    dev->port.flush(dev->port.ctx, shown + first, GL_STRIDE, d->x0, d->y0,
                    (uint16_t)(d->x1 - d->x0), (uint16_t)(d->y1 - d->y0));
    d->any = 0;
}

static void execute(gl_device_t *dev, const gl_frame_t *f, uint32_t now_ms)
{
    const uint8_t *p = f->payload;
    unsigned size = 0;
    int at_least = 0;
    uint8_t reason = 0;
    gl_text_t why;
    gl_text_clear(&why);
    if (!expected_size(f->type, &size, &at_least) ||
        (at_least ? f->length < size : f->length != size)) {
        if (type_name(f->type) != NULL) {
            size_text(&why, f->type, size, at_least, f->length);
        }
        bad_payload(dev, f, &why);
        return;
    }
    if ((f->type == GL_T_ERROR || f->type == GL_T_LOG) &&
        !gl_utf8_valid(p + size, (size_t)f->length - size)) {
        bad_payload(dev, f, &why); /* only EVENT/LOG answer, with a fixed text */
        return;
    }
    switch (f->type) {
    case GL_T_PING:
        gl_send_unsequenced(dev, GL_T_PONG, p, GL_LEN_PONG);
        break;
    case GL_T_BLIT:
        reason = gl_fb_blit(dev->back, &dev->dirty, p, f->length, &why);
        dev->stats.blits += reason == 0u;
        break;
    case GL_T_PRESENT:
        present(dev);
        dev->stats.presents++;
        dev->stats.last_frame_id = u32(p);
        break;
    case GL_T_COPY:
        reason = gl_fb_copy(dev->back, &dev->dirty, p, &why);
        break;
    case GL_T_CLEAR:
        reason = gl_fb_clear(dev->back, &dev->dirty, p[0], &why);
        break;
    case GL_T_SET_BRIGHTNESS:
        dev->brightness = p[0];
        dev->port.panel(dev->port.ctx, !dev->sleeping, dev->brightness);
        break;
    case GL_T_SLEEP:
    case GL_T_WAKE:
        dev->sleeping = f->type == GL_T_SLEEP;
        dev->port.panel(dev->port.ctx, !dev->sleeping, dev->brightness);
        break;
    case GL_T_RESET:
        dev->reboot_pending = 1; /* the ACK goes out first */
        dev->reboot_at_ms = now_ms + GL_REBOOT_DELAY_MS;
        break;
    case GL_T_NAK:
        gl_arq_on_nak(&dev->arq, p[1]);
        break;
    case GL_T_ERROR:
        dev->stats.errors_received++;
        break;
    case GL_T_ENTER_BOOTLOADER:
        if (dev->port.enter_bootloader == NULL) {
            not_accepted(dev, f);
        } else if (u32(p) != GL_ENTER_BOOTLOADER_MAGIC) {
            gl_text_str(&why, "ENTER_BOOTLOADER magic must be SMP1");
            reason = GL_REASON_BAD_PAYLOAD;
        } else {
            dev->handover_pending = 1;
            dev->handover_idle_s = u16(p + 4);
        }
        break;
    case GL_T_EVENT:
    case GL_T_LOG:
        not_accepted(dev, f); /* device-to-host types */
        break;
    default:
        break; /* ACK (its header ack is done), HELLO_ACK, PONG: nothing to do */
    }
    if (reason != 0u) {
        gl_send_error(dev, f, reason, &why);
    }
}

void gl_handle_frame(gl_device_t *dev, const gl_frame_t *f, uint32_t now_ms)
{
    if (f->type == GL_T_HELLO) {
        on_hello(dev, f, now_ms);
        return;
    }
    if (!dev->session) {
        gl_send_nak(dev, f->seq, GL_REASON_NO_SESSION);
        return;
    }
    if (f->version != dev->version) {
        gl_text_t why;
        gl_text_clear(&why);
        versions_text(&why);
        gl_send_error(dev, f, GL_REASON_UNSUPPORTED_VERSION, &why);
        return;
    }
    gl_arq_on_ack(&dev->arq, f->ack, now_ms);
    if (GL_IS_SEQUENCED(f->type)) {
        int nak;
        if (!gl_arq_receive(&dev->arq, f->seq, now_ms, &nak)) {
            if (nak) {
                gl_send_nak(dev, dev->arq.rx_expected, GL_REASON_OUT_OF_SEQUENCE);
            }
            return;
        }
    }
    execute(dev, f, now_ms);
}
