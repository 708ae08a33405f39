/* The mps2-an386 board as qemu-system-arm models it: a Cortex-M4 at 25 MHz, CMSDK APB UARTs,
 * SysTick. Register layouts: ARM DDI 0479 (CMSDK) and the ARMv7-M architecture manual. */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_CPU_HZ 25000000u /* SYSCLK of the AN386 image, also SysTick's clock */
#define BOARD_TICKS_PER_MS (BOARD_CPU_HZ / 1000u)

typedef struct {
    volatile uint32_t data;      /* 0x00: RX on read, TX on write */
    volatile uint32_t state;     /* 0x04: bit 0 TX full, bit 1 RX full */
    volatile uint32_t ctrl;      /* 0x08: TX/RX enable, TX/RX interrupt enable */
    volatile uint32_t intstatus; /* 0x0c: write 1 to clear */
    volatile uint32_t bauddiv;   /* 0x10: >= 16 or the UART stays silent */
} cmsdk_uart_t;

#define UART0 ((cmsdk_uart_t *)0x40004000u) /* the protocol port: qemu's first -serial */
#define UART1 ((cmsdk_uart_t *)0x40005000u) /* the debug channel: qemu's second -serial */
#define UART_TX_FULL 1u
#define UART_RX_FULL 2u
#define UART_CTRL_TX_EN 1u
#define UART_CTRL_RX_EN 2u
#define UART_CTRL_RX_INT 8u
#define UART0_RX_IRQ 0u /* NVIC lines of the AN386 image: UART n RX is 2n, TX 2n + 1 */
#define UART1_RX_IRQ 2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* board.c: clock, UARTs and reset. */
void board_init(void);
uint32_t board_millis(void);
/* SysTick cycles since boot (25 MHz; under qemu -icount shift=0, 40 instructions each). */
uint64_t board_ticks(void);
void board_uart_putc(cmsdk_uart_t *uart, uint8_t byte);
void board_uart_write(cmsdk_uart_t *uart, const uint8_t *data, size_t len);
void board_uart_puts(cmsdk_uart_t *uart, const char *text);
void board_reset(void) __attribute__((noreturn));
/* Sleep until an interrupt (SysTick, a received byte) unless `pending` is nonzero. */
void board_idle(volatile const uint8_t *pending);

/* The reset cause survives a reset in .noinit RAM (qemu zeroes RAM only at power-on). */
uint8_t board_take_reset_cause(void);
uint32_t board_boots(void); /* boots since power-on, counted by board_take_reset_cause */
void board_set_reset_cause(uint8_t cause);

/* gl_port_t pieces the firmware and the benchmark share (the benchmark so times the same). */
uint32_t board_port_millis(void *ctx);
/* A flushed rectangle copied row by row into `panel` (a frame buffer of GL_STRIDE-byte rows),
 * the copy a panel without DMA costs. */
void board_panel_copy(uint8_t *panel, const uint8_t *rect, size_t stride, uint16_t x_px,
                      uint16_t y_px, uint16_t width_px, uint16_t height_px);

#endif /* BOARD_H */
