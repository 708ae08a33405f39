/* Shared by the fuzz targets: a device with a recording port and a frame builder. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gl_codec.h"
#include "gl_device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern uint32_t fz_clock_ms;
extern int fz_smp;
/* A device with a recording port (every byte written and flushed is read: ASan checks it). */
void fz_init(gl_device_t *dev, int bootloader);
/* Send header fields + payload as one valid frame (length, CRC, COBS, delimiter). */
void fz_send(gl_device_t *dev, uint8_t version, uint8_t type, uint8_t seq, uint8_t ack,
             const uint8_t *payload, size_t n);

#endif /* FUZZ_COMMON_H */
