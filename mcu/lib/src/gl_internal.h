/* Shared between the device's source files; not part of the public interface. */
#ifndef GL_INTERNAL_H
#define GL_INTERNAL_H

#include "gl_device.h"

uint32_t gl_now(gl_device_t *dev);
/* Encode and write one frame with header ack = the current rx_expected. */
void gl_send_frame(gl_device_t *dev, uint8_t type, uint8_t seq, const uint8_t *payload,
                   uint16_t len);
/* An unsequenced message: it carries the acknowledgement, so no bare ACK is due after it. */
void gl_send_unsequenced(gl_device_t *dev, uint8_t type, const uint8_t *payload, uint16_t len);
void gl_send_nak(gl_device_t *dev, uint8_t ref_seq, uint8_t reason);
void gl_send_error(gl_device_t *dev, const gl_frame_t *f, uint8_t reason, const gl_text_t *why);
/* Restart in place: what a reboot does to the protocol state and the frame buffers. */
void gl_boot(gl_device_t *dev, uint8_t cause);
/* A checked frame arrived (gl_session.c). */
void gl_handle_frame(gl_device_t *dev, const gl_frame_t *f, uint32_t now_ms);
/* Queue EVENT / LOG as the simulator does: only in a session, LOG in half the queue. */
int gl_queue(gl_device_t *dev, uint8_t type, const uint8_t *payload, uint16_t len);

#endif /* GL_INTERNAL_H */
