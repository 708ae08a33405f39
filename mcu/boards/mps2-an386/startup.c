/* Vector table and reset: copy .data from flash, zero .bss, enable the FPU, call main.
 * No C library start-up (no heap, no atexit): the firmware never returns from main. */
#include <stdint.h>
#include <string.h>

#include "board.h"

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
int main(void);

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void Uart0Rx_Handler(void) __attribute__((weak, alias("Default_Handler")));
void Uart1Rx_Handler(void) __attribute__((weak, alias("Default_Handler")));

void Default_Handler(void)
{
    for (;;) { /* an unexpected exception: stop here for the debugger (qemu -s -S) */
    }
}

typedef void (*vector_t)(void);

/* 16 system exceptions and the first 16 interrupt lines of the AN386 image (UART0 RX is 0). */
__attribute__((section(".vectors"), used)) static const vector_t vectors[32] = {
    (vector_t)(uintptr_t)&__stack_top,
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
    Default_Handler, /* MemManage */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMon */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
    Uart0Rx_Handler,  /* IRQ 0 */
    Default_Handler,  /* IRQ 1: UART0 TX */
    Uart1Rx_Handler,  /* IRQ 2 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler,
};

void Reset_Handler(void)
{
    size_t data_len = (size_t)((uintptr_t)&__data_end - (uintptr_t)&__data_start);
    size_t bss_len = (size_t)((uintptr_t)&__bss_end - (uintptr_t)&__bss_start);
    memcpy(&__data_start, &__data_load, data_len);
    memset(&__bss_start, 0, bss_len);
    SCB_CPACR |= 0xFu << 20; /* CP10/CP11 full access: the compiler may use the FPU */
    (void)main();
    for (;;) {
    }
}
