/* Sizes of the device library, fixed at compile time from the display profile.
 *
 * Pick the profile with -DGL_PROFILE_640X400X4, -DGL_PROFILE_576X136X1 or
 * -DGL_PROFILE_128X64X1 (gl_profiles.h, generated from hw_sim/profiles.py). Every buffer of
 * the library is a member of gl_device_t, sized here: no heap, nothing grows at run time. */
#ifndef GL_CONFIG_H
#define GL_CONFIG_H

#include "gl_profiles.h"
#include "gl_protocol.h"

#define GL_PPB (8u / GL_BPP)                            /* pixels per byte */
#define GL_STRIDE ((GL_WIDTH_PX * GL_BPP) / 8u)          /* bytes per frame buffer row */
#define GL_FB_BYTES (GL_STRIDE * GL_HEIGHT_PX * 1ul)
#define GL_MAX_LEVEL ((1u << GL_BPP) - 1u)

/* Receive buffer (section 3.6): the encoded frame, decoded in place as it arrives. */
#define GL_RAW_MAX (GL_HEADER_LEN + GL_MAX_PAYLOAD + GL_CRC_LEN)
#define GL_MAX_ENCODED (GL_RAW_MAX + GL_RAW_MAX / GL_COBS_MAX_BLOCK + 1u)

/* 1: the panel's own memory is the front buffer (section 9.1): PRESENT flushes the changed
 * rectangle of the back buffer to it, and the library holds one frame buffer. Needed for
 * 640x400x4 on a 256 KiB part (two buffers would take 250 KiB). 0: the library keeps the front
 * buffer in RAM and flushes from it, so a port may send it to the panel by DMA. */
#ifndef GL_FRONT_IN_PANEL
#if GL_FB_BYTES > 16384ul
#define GL_FRONT_IN_PANEL 1
#else
#define GL_FRONT_IN_PANEL 0
#endif
#endif

/* The device's own payloads: HELLO_ACK is at most 51 bytes and an ERROR detail is cut to 61,
 * so both fit the 64 bytes every host accepts (section 3.6). A LOG line is cut to what the
 * host announced and to GL_LOG_TEXT_MAX, which sizes each slot of the send queue. */
#ifndef GL_LOG_TEXT_MAX
#if GL_FB_BYTES > 16384ul
#define GL_LOG_TEXT_MAX 319u
#else
#define GL_LOG_TEXT_MAX (GL_MIN_PAYLOAD - GL_MINLEN_LOG)
#endif
#endif
#define GL_ERROR_DETAIL_MAX (GL_MIN_PAYLOAD - GL_MINLEN_ERROR)
#define GL_TX_PAYLOAD_MAX (GL_MINLEN_LOG + GL_LOG_TEXT_MAX)
#define GL_TX_RAW_MAX (GL_HEADER_LEN + GL_TX_PAYLOAD_MAX + GL_CRC_LEN)
#define GL_TX_WIRE_MAX (GL_TX_RAW_MAX + GL_TX_RAW_MAX / GL_COBS_MAX_BLOCK + 2u)

/* EVENT / LOG messages waiting for a window slot (section 8.4); LOG may use half. */
#ifndef GL_PENDING_MAX
#if GL_FB_BYTES > 16384ul
#define GL_PENDING_MAX 16u
#else
#define GL_PENDING_MAX 8u
#endif
#endif
#define GL_TXQ_LEN (GL_WINDOW + GL_PENDING_MAX)

/* Input events posted from interrupt handlers, drained by gl_poll (a power of two). */
#ifndef GL_EVQ_LEN
#define GL_EVQ_LEN 8u
#endif

/* Retransmission of EVENT / LOG (section 8.4), in milliseconds. The minimum is above the time
 * a full window of the device's small frames (at most 8 x 77 bytes) takes at 115200 baud,
 * since the device does not model wire time (63-byte LOG lines; longer ones need more). */
#define GL_RTO_INITIAL_MS 500u
#define GL_RTO_MIN_MS 100u
#define GL_RTO_MAX_MS 4000u
#define GL_NAK_REPEAT_MS 10u  /* a NAK for the same expected seq again after this long */
#define GL_REBOOT_DELAY_MS 100u /* RESET: time for the ACK to leave (section 7.5) */

#if GL_MAX_PAYLOAD < GL_MIN_PAYLOAD || GL_MAX_PAYLOAD > GL_MAX_PAYLOAD_LIMIT
#error "GL_MAX_PAYLOAD must be in 64..65535"
#endif
#if GL_WINDOW < 1 || GL_WINDOW > GL_MAX_WINDOW
#error "GL_WINDOW must be in 1..127"
#endif
#if GL_BPP != 1 && GL_BPP != 2 && GL_BPP != 4
#error "GL_BPP must be 1, 2 or 4"
#endif
#if (GL_WIDTH_PX % GL_PPB) != 0
#error "GL_WIDTH_PX must be a multiple of the pixels per byte"
#endif
#if (GL_EVQ_LEN & (GL_EVQ_LEN - 1u)) != 0 || GL_EVQ_LEN > 128u
#error "GL_EVQ_LEN must be a power of two, at most 128"
#endif
#if GL_TX_PAYLOAD_MAX < GL_MIN_PAYLOAD || GL_TX_PAYLOAD_MAX > GL_MAX_PAYLOAD_LIMIT
#error "GL_LOG_TEXT_MAX must be in 63..65534"
#endif
#if GL_TXQ_LEN > 255u
#error "GL_WINDOW + GL_PENDING_MAX must fit in a byte"
#endif

#endif /* GL_CONFIG_H */
