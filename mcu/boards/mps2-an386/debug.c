/* The debug channel: one command a line on UART1, one answer line each.
 *
 *   i                 info key=value ...  (panel address and geometry, panel state, counters)
 *   e KIND CODE VALUE gl_post_event       -> ok | full
 *   l LEVEL TEXT      gl_log              -> ok | dropped
 *
 * Anything else is answered "error ..." naming what was wrong. */
#include "debug.h"

#include <string.h>

#include "board.h"

#define LINE_MAX 128u

static gl_device_t *device;
static char line[LINE_MAX];
static size_t line_len;
static uint8_t overlong;

void debug_init(gl_device_t *dev)
{
    device = dev;
    line_len = 0;
    overlong = 0;
}

static void put_uint(uint64_t value, unsigned base)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0u);
    while (n > 0u) {
        board_uart_putc(UART1, (uint8_t)digits[--n]);
    }
}

static void put_field(const char *key, uint64_t value)
{
    board_uart_puts(UART1, " ");
    board_uart_puts(UART1, key);
    board_uart_puts(UART1, "=");
    put_uint(value, 10);
}

/* A decimal integer at *p (optional '-'), skipping spaces before it; 0 if there is none. */
static int take_int(const char **p, long *out)
{
    const char *s = *p;
    long sign = 1, value = 0;
    int digits = 0;
    while (*s == ' ') {
        s++;
    }
    if (*s == '-') {
        sign = -1;
        s++;
    }
    while (*s >= '0' && *s <= '9' && digits < 9) {
        value = value * 10 + (*s++ - '0');
        digits++;
    }
    if (digits == 0 || (*s != ' ' && *s != '\0')) {
        return 0;
    }
    *p = s;
    *out = sign * value;
    return 1;
}

static void info(void)
{
    board_uart_puts(UART1, "info panel=0x");
    put_uint((uintptr_t)panel_mem, 16);
    put_field("width", GL_WIDTH_PX);
    put_field("height", GL_HEIGHT_PX);
    put_field("bpp", GL_BPP);
    put_field("stride", GL_STRIDE);
    put_field("on", board_panel.on);
    put_field("brightness", board_panel.brightness);
    put_field("session", device->session);
    put_field("flushes", board_panel.flushes);
    put_field("presents", device->stats.presents);
    put_field("frames", device->stats.frames);
    put_field("boots", board_boots());
    put_field("rx_bytes", board_panel.rx_bytes);
    put_field("rx_ticks", board_panel.rx_ticks);
    put_field("uptime_ms", board_millis());
    board_uart_puts(UART1, "\n");
}

static void run(const char *cmd)
{
    const char *p = cmd + 1;
    long kind, code, value;
    if (strcmp(cmd, "i") == 0) {
        info();
    } else if (cmd[0] == 'e' && take_int(&p, &kind) && take_int(&p, &code) &&
               take_int(&p, &value) && *p == '\0') {
        if (kind < 0 || kind > 255 || code < 0 || code > 255 || value < -32768 || value > 32767) {
            board_uart_puts(UART1, "error e: KIND and CODE must be 0..255, VALUE -32768..32767\n");
            return;
        }
        board_uart_puts(UART1, gl_post_event(device, (uint8_t)kind, (uint8_t)code,
                                             (int16_t)value) ? "ok\n" : "full\n");
    } else if (cmd[0] == 'l' && take_int(&p, &kind) && kind >= 0 && kind <= 255) {
        if (*p == ' ') {
            p++;
        }
        board_uart_puts(UART1, gl_log(device, (uint8_t)kind, p, strlen(p)) ? "ok\n"
                                                                           : "dropped\n");
    } else {
        board_uart_puts(UART1, "error unknown command (i | e KIND CODE VALUE | l LEVEL TEXT)\n");
    }
}

void debug_poll(void)
{
    while (UART1->state & UART_RX_FULL) {
        char c = (char)UART1->data;
        if (c == '\r') {
            continue;
        }
        if (c != '\n') {
            if (line_len + 1u < LINE_MAX) {
                line[line_len++] = c;
            } else {
                overlong = 1;
            }
            continue;
        }
        line[line_len] = '\0';
        if (overlong) {
            board_uart_puts(UART1, "error line longer than 127 bytes\n");
        } else if (line_len > 0u) {
            run(line);
        }
        line_len = 0;
        overlong = 0;
    }
}
