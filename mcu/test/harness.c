/* Test harness: drives the device library with commands on stdin, one per line, and prints
 * what it sent and what it shows. tests/test_mcu_*.py feed it the vectors of docs/protocol.md
 * section 12 and the differential streams; nothing here knows a vector.
 *
 *   t MS                 set the millisecond clock        rx HEX     bytes from the host
 *   init CAUSE           boot the device                  poll       gl_poll, then print
 *   bootloader 0|1       port has enter_bootloader (set before init)
 *   event K C V          gl_post_event                    log L HEX  gl_log
 *   post NAME A [B]      gl_post_button ID ACTION, _swipe DIR, _battery PCT CHARGING, _worn W,
 *                        _temperature CENTI_C: the port interface's typed inputs
 *   out                  print "tx HEX" of everything the device wrote since the last print
 *   dump                 print "back HEX" and "front HEX" (the panel's memory)
 *   state                print session, version, sleeping, brightness, mode, panel, seq state
 *   enc TYPE SEQ ACK HEX encode one frame with the device's sender and print it as "tx HEX"
 *   crc HEX / cobs-enc HEX / cobs-dec HEX / packbits SIZE HEX / frames MAX_PAYLOAD HEX
 *   profile              print the compiled-in profile
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_device.h"
#include "gl_internal.h"
#include "gl_rx.h"

static gl_device_t dev;
static uint32_t clock_ms;
static unsigned char out[1u << 20];
static size_t out_len;
static uint8_t panel_mem[GL_FB_BYTES];
static int panel_on = -1, panel_level = -1, smp_entered, smp_idle_s = -1, hw_resets;
static unsigned long flushes;

static void fail(const char *what)
{
    fprintf(stderr, "harness: %s\n", what);
    exit(2);
}

static void port_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (len > sizeof out - out_len) {
        fail("output buffer full: print it with 'out' or 'poll' more often");
    }
    memcpy(out + out_len, data, len);
    out_len += len;
}

static uint32_t port_millis(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static void port_flush(void *ctx, const uint8_t *rect, size_t stride, uint16_t x, uint16_t y,
                       uint16_t w, uint16_t h)
{
    size_t r, row_bytes = w / GL_PPB;
    (void)ctx;
    if ((uint32_t)x + w > GL_WIDTH_PX || (uint32_t)y + h > GL_HEIGHT_PX || x % GL_PPB != 0u) {
        fail("flush of a rectangle outside the panel");
    }
    for (r = 0; r < h; r++) {
        memcpy(panel_mem + (y + r) * GL_STRIDE + x / GL_PPB, rect + r * stride, row_bytes);
    }
    flushes++;
}

static void port_panel(void *ctx, int on, uint8_t level)
{
    (void)ctx;
    panel_on = on;
    panel_level = level;
}

static void port_bootloader(void *ctx, uint16_t idle_s)
{
    (void)ctx;
    smp_entered = 1;
    smp_idle_s = idle_s;
}

static gl_port_t port = {NULL, port_write, port_millis, port_flush, port_panel, NULL, NULL};

static int nibble(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Hex (spaces allowed) into a malloc'd buffer; *n its length. */
static uint8_t *unhex(const char *s, size_t *n)
{
    size_t cap = strlen(s) / 2u + 1u, k = 0;
    uint8_t *b = malloc(cap);
    if (b == NULL) fail("out of memory");
    while (*s != '\0') {
        int hi, lo;
        if (*s == ' ' || *s == '\n' || *s == '\r') { s++; continue; }
        hi = nibble(s[0]);
        lo = hi < 0 ? -1 : nibble(s[1]);
        if (lo < 0) fail("bad hex");
        b[k++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    *n = k;
    return b;
}

static void print_hex(const char *tag, const uint8_t *p, size_t n)
{
    size_t i;
    fputs(tag, stdout);
    putchar(' ');
    for (i = 0; i < n; i++) printf("%02x", p[i]);
    putchar('\n');
}

static void print_out(void)
{
    print_hex("tx", out, out_len);
    out_len = 0;
}

static const char *rejection(gl_rx_result_t r)
{
    switch (r) {
    case GL_RX_OVERFLOW: return "overflow";
    case GL_RX_COBS: return "cobs";
    case GL_RX_SHORT: return "short";
    case GL_RX_CRC: return "crc";
    case GL_RX_LENGTH: return "length";
    default: return "?";
    }
}

static void cmd_frames(const char *args)
{
    char *end;
    unsigned long max_payload = strtoul(args, &end, 10);
    size_t n, i, cap = gl_rx_capacity(max_payload);
    uint8_t *data = unhex(end, &n), *buf = malloc(cap);
    gl_rx_t rx;
    if (buf == NULL) fail("out of memory");
    gl_rx_init(&rx, buf, cap);
    for (i = 0; i < n; i++) {
        gl_frame_t f;
        gl_rx_result_t r = gl_rx_push(&rx, data[i], &f);
        if (r == GL_RX_FRAME) {
            printf("frame %u %u %u %u %u ", f.version, f.type, f.flags, f.seq, f.ack);
            print_hex("payload", f.payload, f.length);
        } else if (r != GL_RX_NONE) {
            printf("error %s\n", rejection(r));
        }
    }
    printf("buffered %lu\n", (unsigned long)rx.encoded);
    free(data);
    free(buf);
}

static void cmd_cobs_dec(const char *args)
{
    size_t n, i;
    uint8_t *data = unhex(args, &n), *buf = malloc(n + 1u);
    gl_rx_t rx;
    gl_frame_t f;
    if (buf == NULL) fail("out of memory");
    gl_rx_init(&rx, buf, n + 1u);
    for (i = 0; i < n; i++) {
        if (data[i] == 0u) break;
        (void)gl_rx_push(&rx, data[i], &f);
    }
    if (i < n || rx.cobs.left != 0u || n == 0u) {
        puts("cobs error");
    } else {
        print_hex("cobs", rx.buf, rx.len);
    }
    free(data);
    free(buf);
}

static void cmd_packbits(const char *args)
{
    char *end;
    unsigned long size = strtoul(args, &end, 10);
    size_t n;
    uint8_t *data = unhex(end, &n), *dst = malloc(size + 1u);
    gl_pb_check_t c = gl_packbits_check(data, n, size);
    if (dst == NULL) fail("out of memory");
    if (c.status != GL_PB_OK) {
        printf("packbits error %d\n", (int)c.status);
    } else {
        gl_cursor_t cur;
        cur.row = dst;
        cur.col = 0;
        cur.row_bytes = size;
        cur.stride = size;
        gl_packbits_write(data, n, &cur);
        print_hex("packbits", dst, size);
    }
    free(data);
    free(dst);
}

static void cmd_state(void)
{
    printf("state session=%u version=%u sleeping=%u brightness=%u mode=%u panel_on=%d "
           "panel_level=%d rx_expected=%u tx_next=%u inflight=%u pending=%u smp=%d idle_s=%d "
           "boots=%lu flushes=%lu\n",
           dev.session, dev.version, dev.sleeping, dev.brightness, dev.mode, panel_on,
           panel_level, dev.arq.rx_expected, dev.arq.tx_next, dev.arq.inflight,
           gl_arq_pending(&dev.arq), smp_entered, smp_idle_s, (unsigned long)dev.stats.boots,
           flushes);
    (void)hw_resets;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    int initialised = 0;
    setvbuf(stdout, NULL, _IOFBF, 1u << 16);
    while (getline(&line, &cap, stdin) >= 0) {
        char *arg = strchr(line, ' ');
        size_t n;
        uint8_t *data;
        line[strcspn(line, "\r\n")] = '\0';
        if (arg != NULL) *arg++ = '\0'; else arg = line + strlen(line);
        if (line[0] == '\0' || line[0] == '#') continue;
        if (strcmp(line, "t") == 0) {
            clock_ms = (uint32_t)strtoul(arg, NULL, 10);
        } else if (strcmp(line, "bootloader") == 0) {
            port.enter_bootloader = atoi(arg) ? port_bootloader : NULL;
        } else if (strcmp(line, "init") == 0) {
            gl_init(&dev, &port, (uint8_t)atoi(arg));
            initialised = 1;
        } else if (strcmp(line, "crc") == 0) {
            data = unhex(arg, &n);
            printf("crc 0x%08lX\n", (unsigned long)gl_crc32(0, data, n));
            free(data);
        } else if (strcmp(line, "cobs-enc") == 0) {
            uint8_t *enc;
            data = unhex(arg, &n);
            enc = malloc(n + n / 254u + 1u);
            if (enc == NULL) fail("out of memory");
            print_hex("cobs", enc, gl_cobs_encode(data, n, enc));
            free(data);
            free(enc);
        } else if (strcmp(line, "cobs-dec") == 0) {
            cmd_cobs_dec(arg);
        } else if (strcmp(line, "packbits") == 0) {
            cmd_packbits(arg);
        } else if (strcmp(line, "frames") == 0) {
            cmd_frames(arg);
        } else if (strcmp(line, "profile") == 0) {
            printf("profile %s %u %u %u %u %u %d\n", GL_PROFILE_NAME, GL_WIDTH_PX, GL_HEIGHT_PX,
                   GL_BPP, GL_MAX_PAYLOAD, GL_WINDOW, GL_FRONT_IN_PANEL);
        } else if (!initialised) {
            fail("init first");
        } else if (strcmp(line, "rx") == 0) {
            data = unhex(arg, &n);
            gl_rx(&dev, data, n);
            free(data);
        } else if (strcmp(line, "poll") == 0) {
            gl_poll(&dev);
            print_out();
        } else if (strcmp(line, "out") == 0) {
            print_out();
        } else if (strcmp(line, "enc") == 0) {
            unsigned type, seq, ack;
            int used = 0;
            if (sscanf(arg, "%u %u %u %n", &type, &seq, &ack, &used) != 3) fail("enc TYPE SEQ ACK HEX");
            data = unhex(arg + used, &n);
            if (n > GL_TX_PAYLOAD_MAX) {
                puts("enc too-long");
            } else {
                out_len = 0;
                dev.arq.rx_expected = (uint8_t)ack;
                gl_send_frame(&dev, (uint8_t)type, (uint8_t)seq, data, (uint16_t)n);
                print_out();
            }
            free(data);
        } else if (strcmp(line, "event") == 0) {
            int k, c, v;
            if (sscanf(arg, "%d %d %d", &k, &c, &v) != 3) fail("event K C V");
            printf("event %d\n", gl_post_event(&dev, (uint8_t)k, (uint8_t)c, (int16_t)v));
        } else if (strcmp(line, "post") == 0) {
            char name[16];
            int a = 0, b = 0, r = -1;
            if (sscanf(arg, "%15s %d %d", name, &a, &b) < 2) fail("post NAME A [B]");
            if (strcmp(name, "button") == 0) r = gl_post_button(&dev, (uint8_t)a, (uint8_t)b);
            if (strcmp(name, "swipe") == 0) r = gl_post_swipe(&dev, (uint8_t)a);
            if (strcmp(name, "battery") == 0) r = gl_post_battery(&dev, (uint8_t)a, b);
            if (strcmp(name, "worn") == 0) r = gl_post_worn(&dev, a);
            if (strcmp(name, "temperature") == 0) r = gl_post_temperature(&dev, (int16_t)a);
            if (r < 0) fail("post button|swipe|battery|worn|temperature");
            printf("event %d\n", r);
        } else if (strcmp(line, "log") == 0) {
            char *end;
            unsigned long level = strtoul(arg, &end, 10);
            data = unhex(end, &n);
            printf("log %d\n", gl_log(&dev, (uint8_t)level, (const char *)data, n));
            free(data);
        } else if (strcmp(line, "dump") == 0) {
            const uint8_t *front = gl_front(&dev);
            print_hex("back", gl_back(&dev), GL_FB_BYTES);
            print_hex("front", panel_mem, GL_FB_BYTES);
            if (front != NULL && memcmp(front, panel_mem, GL_FB_BYTES) != 0) {
                fail("the panel does not show the front buffer");
            }
        } else if (strcmp(line, "state") == 0) {
            cmd_state();
        } else {
            fprintf(stderr, "harness: unknown command %s\n", line);
            return 2;
        }
    }
    free(line);
    fflush(stdout);
    return 0;
}
