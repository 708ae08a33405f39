/* Clock, UARTs, reset and the panel copy of the mps2-an386 board. */
#include <string.h>

#include "board.h"
#include "gl_config.h"

#define RESET_MAGIC 0x474C5253u /* "GLRS": the note below was written since power-on */

static volatile uint32_t ms_now;
static struct {
    uint32_t magic;
    uint32_t cause; /* for the next boot: enum gl_cause */
    uint32_t boots; /* since power-on, this one included */
} reset_note __attribute__((section(".noinit")));

void SysTick_Handler(void)
{
    ms_now++;
}

void board_init(void)
{
    UART0->bauddiv = BOARD_CPU_HZ / 921600u; /* qemu does not pace bytes; it checks >= 16 */
    UART1->bauddiv = BOARD_CPU_HZ / 921600u;
    UART0->ctrl = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INT;
    UART1->ctrl = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INT;
    NVIC_ISER0 = (1u << UART0_RX_IRQ) | (1u << UART1_RX_IRQ);
    SYST_RVR = BOARD_TICKS_PER_MS - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

uint32_t board_millis(void)
{
    return ms_now;
}

uint64_t board_ticks(void)
{
    uint32_t ms, left;
    do { /* a SysTick interrupt between the two reads would pair a new count with an old ms */
        ms = ms_now;
        left = SYST_CVR;
    } while (ms != ms_now);
    return (uint64_t)ms * BOARD_TICKS_PER_MS + (BOARD_TICKS_PER_MS - 1u - left);
}

void board_uart_putc(cmsdk_uart_t *uart, uint8_t byte)
{
    while (uart->state & UART_TX_FULL) {
    }
    uart->data = byte;
}

void board_uart_write(cmsdk_uart_t *uart, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        board_uart_putc(uart, data[i]);
    }
}

void board_uart_puts(cmsdk_uart_t *uart, const char *text)
{
    while (*text != '\0') {
        board_uart_putc(uart, (uint8_t)*text++);
    }
}

void board_reset(void)
{
    __asm__ volatile("dsb");
    SCB_AIRCR = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb");
    for (;;) {
    }
}

void board_idle(volatile const uint8_t *pending)
{
    /* With interrupts masked, an interrupt that comes between the check and WFI still ends
     * the WFI (it is pending), so no byte waits for the next SysTick. */
    __asm__ volatile("cpsid i" ::: "memory");
    if (*pending == 0u) {
        __asm__ volatile("wfi" ::: "memory");
    }
    __asm__ volatile("cpsie i" ::: "memory");
}

uint8_t board_take_reset_cause(void)
{
    uint8_t cause;
    if (reset_note.magic != RESET_MAGIC) { /* power-on: RAM holds anything (qemu: zeros) */
        reset_note.magic = RESET_MAGIC;
        reset_note.cause = 0;
        reset_note.boots = 0;
    }
    cause = (uint8_t)reset_note.cause;
    reset_note.cause = 0; /* a reset without a note (the reset pin) reads as power-on */
    reset_note.boots++;
    return cause;
}

uint32_t board_boots(void)
{
    return reset_note.boots;
}

void board_set_reset_cause(uint8_t cause)
{
    reset_note.cause = cause;
}

uint32_t board_port_millis(void *ctx)
{
    (void)ctx;
    return board_millis();
}

void board_panel_copy(uint8_t *panel, const uint8_t *rect, size_t stride, uint16_t x_px,
                      uint16_t y_px, uint16_t width_px, uint16_t height_px)
{
    size_t row, row_bytes = width_px / GL_PPB;
    uint8_t *to = panel + (size_t)y_px * GL_STRIDE + x_px / GL_PPB;
    for (row = 0; row < height_px; row++) {
        memcpy(to + row * GL_STRIDE, rect + row * stride, row_bytes);
    }
}
