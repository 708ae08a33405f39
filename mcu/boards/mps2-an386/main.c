/* Reference firmware: the device library on qemu's mps2-an386, the protocol on UART0.
 *
 * UART0's receive interrupt fills a ring that the main loop hands to gl_rx(); the panel is a
 * buffer in its own memory region (.panel) that PRESENT flushes into, read by the launcher
 * through qemu's monitor; UART1 is the debug channel (debug.c) that injects inputs. */

#include "board.h"
#include "debug.h"
#include "gl_device.h"

#define RX_RING_LEN 1024u /* a power of two; the ISR stops taking bytes while it is full */

static gl_device_t dev;
static uint8_t rx_ring[RX_RING_LEN];
static volatile uint32_t rx_head, rx_tail; /* head: the ISR; tail: the main loop */
static volatile uint8_t input_pending;      /* an ISR saw a byte: do not sleep */

board_panel_t board_panel;
uint8_t panel_mem[GL_FB_BYTES] __attribute__((section(".panel"), aligned(4)));

/* Take what UART0 holds while the ring has room; called from the ISR, and from the main loop
 * with interrupts masked after it has made room (a full ring leaves bytes in the UART, where
 * qemu holds back the next ones: nothing is lost). */
static void uart0_pull(void)
{
    while ((UART0->state & UART_RX_FULL) && rx_head - rx_tail < RX_RING_LEN) {
        rx_ring[rx_head % RX_RING_LEN] = (uint8_t)UART0->data;
        rx_head++;
    }
}

void Uart0Rx_Handler(void)
{
    UART0->intstatus = 2u; /* clear first: a byte arriving meanwhile raises it again */
    uart0_pull();
    input_pending = 1;
}

void Uart1Rx_Handler(void)
{
    UART1->intstatus = 2u; /* the main loop reads UART1 itself */
    input_pending = 1;
}

static void port_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    board_uart_write(UART0, data, len);
}

static void port_flush(void *ctx, const uint8_t *rect, size_t stride, uint16_t x_px,
                       uint16_t y_px, uint16_t width_px, uint16_t height_px)
{
    (void)ctx;
    board_panel_copy(panel_mem, rect, stride, x_px, y_px, width_px, height_px);
    board_panel.flushes++;
}

static void port_panel(void *ctx, int on, uint8_t brightness)
{
    (void)ctx;
    board_panel.on = (uint8_t)(on != 0);
    board_panel.brightness = brightness;
}

static void port_reset(void *ctx)
{
    (void)ctx;
    board_set_reset_cause(GL_CAUSE_RESET_MESSAGE);
    board_reset();
}

int main(void)
{
    static const gl_port_t port = {NULL, port_write, board_port_millis, port_flush, port_panel,
                                   port_reset, NULL};
    uint8_t chunk[64];
    uint8_t cause = board_take_reset_cause();
    board_init();
    debug_init(&dev);
    gl_init(&dev, &port, cause);
    for (;;) {
        size_t n = 0;
        input_pending = 0;
        while (rx_tail != rx_head && n < sizeof chunk) {
            chunk[n++] = rx_ring[rx_tail % RX_RING_LEN];
            rx_tail++;
        }
        if (n > 0u) {
            uint64_t t0 = board_ticks();
            gl_rx(&dev, chunk, n);
            board_panel.rx_bytes += n;
            board_panel.rx_ticks += board_ticks() - t0;
            __asm__ volatile("cpsid i" ::: "memory");
            uart0_pull(); /* the ring has room again: take what waited in the UART */
            __asm__ volatile("cpsie i" ::: "memory");
            input_pending = 1; /* more may be in the ring */
        }
        gl_poll(&dev);
        debug_poll();
        board_idle(&input_pending);
    }
}
