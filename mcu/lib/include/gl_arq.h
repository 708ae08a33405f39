/* Go-back-N (section 8), the device's half: receiving the host's sequenced frames (in order,
 * duplicates, gaps, one NAK per expected number) and sending EVENT / LOG reliably (window,
 * cumulative acks, go back on NAK, retransmission timeout with backoff). */
#ifndef GL_ARQ_H
#define GL_ARQ_H

#include <stdint.h>

#include "gl_config.h"

typedef struct {
    uint8_t type, seq, retransmitted;
    uint16_t len;
    uint32_t sent_ms;
    uint8_t payload[GL_TX_PAYLOAD_MAX];
} gl_slot_t;

/* Writes one sequenced frame (the caller adds the header ack = rx_expected). */
typedef void (*gl_arq_send_fn)(void *ctx, uint8_t type, uint8_t seq, const uint8_t *payload,
                               uint16_t len);

typedef struct {
    gl_slot_t slot[GL_TXQ_LEN]; /* a ring: `inflight` sent from `head`, then the pending ones */
    uint8_t head, inflight, count;
    uint8_t tx_next, rx_expected;
    uint8_t ack_due, go_back;
    uint8_t nak_valid, nak_for; /* a NAK was sent while rx_expected was nak_for */
    uint8_t have_srtt;
    uint32_t nak_ms, timer_start_ms, rto_ms;
    uint32_t srtt8, rttvar8; /* smoothed round trip and its variation, in 1/8 ms */
    uint32_t retransmits;
} gl_arq_t;

void gl_arq_reset(gl_arq_t *a);
uint8_t gl_arq_pending(const gl_arq_t *a);
/* Queue a sequenced message; 0 if GL_PENDING_MAX are already waiting (the caller drops it). */
int gl_arq_queue(gl_arq_t *a, uint8_t type, const uint8_t *payload, uint16_t len);
/* A frame's header ack (section 8.2). */
void gl_arq_on_ack(gl_arq_t *a, uint8_t ack, uint32_t now_ms);
/* A sequenced frame in a session: 1 = deliver it, 0 = drop it. Sets *nak when a NAK
 * OUT_OF_SEQUENCE is due now. */
int gl_arq_receive(gl_arq_t *a, uint8_t seq, uint32_t now_ms, int *nak);
/* A NAK (reason BAD_CRC or OUT_OF_SEQUENCE) is due unless one was sent for this expected
 * number less than GL_NAK_REPEAT_MS ago; 1 = send it (recorded as sent). */
int gl_arq_nak_once(gl_arq_t *a, uint32_t now_ms);
/* A NAK from the host: go back at the next poll if frames are in flight. */
void gl_arq_on_nak(gl_arq_t *a, uint8_t reason);
/* Send what is due: retransmissions, new frames within the window; returns 1 if a bare ACK is
 * due (nothing else went out to carry it; the flag is cleared). */
int gl_arq_poll(gl_arq_t *a, uint32_t now_ms, gl_arq_send_fn send, void *ctx);

#endif /* GL_ARQ_H */
