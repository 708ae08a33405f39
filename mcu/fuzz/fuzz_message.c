/* Each message handler: a device in a session gets one in-order frame of the type picked by
 * byte 0 (every code of the message table, reserved and unknown ones too), payload = the rest,
 * then the same type again as the next sequence number with the payload cut in half. */
#include "fuzz_common.h"

static gl_device_t dev;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t hello[8] = {1, 1, 0x00, 0x10, 0x78, 0x56, 0x34, 0x12};
    uint8_t type;
    if (size == 0u) {
        return 0;
    }
    type = data[0];
    fz_init(&dev, type & 1u);
    fz_send(&dev, 1, GL_T_HELLO, 0, 0, hello, sizeof hello);
    gl_poll(&dev);
    fz_send(&dev, 1, type, 0, 1, data + 1, size - 1u);
    gl_poll(&dev);
    fz_send(&dev, 1, type, 1, 1, data + 1, (size - 1u) / 2u);
    fz_clock_ms += 200u;
    gl_poll(&dev);
    return 0;
}
