/* Go-back-N as firmware_bridge/protocol/arq.py does it, with integer milliseconds. */
#include "gl_arq.h"

#include <string.h>

#define SLOT(a, i) (&(a)->slot[((a)->head + (i)) % GL_TXQ_LEN])

static int8_t seq_diff(uint8_t x, uint8_t y)
{
    unsigned d = (unsigned)(uint8_t)(x - y);
    return (int8_t)(d < 128u ? (int)d : (int)d - 256);
}

static int reached(uint32_t now_ms, uint32_t at_ms)
{
    return (uint32_t)(now_ms - at_ms) < 0x80000000u;
}

void gl_arq_reset(gl_arq_t *a)
{
    a->head = a->inflight = a->count = 0;
    a->tx_next = a->rx_expected = 0;
    a->ack_due = a->go_back = 0;
    a->nak_valid = 0;
    a->nak_for = 0;
    a->rto_ms = GL_RTO_INITIAL_MS;
    /* The round-trip estimate survives a new session, as in arq.py: same line, same peer. */
}

uint8_t gl_arq_pending(const gl_arq_t *a)
{
    return (uint8_t)(a->count - a->inflight);
}

int gl_arq_queue(gl_arq_t *a, uint8_t type, const uint8_t *payload, uint16_t len)
{
    gl_slot_t *s;
    if (gl_arq_pending(a) >= GL_PENDING_MAX || a->count >= GL_TXQ_LEN ||
        len > GL_TX_PAYLOAD_MAX) {
        return 0;
    }
    s = SLOT(a, a->count);
    s->type = type;
    s->len = len;
    s->retransmitted = 0;
    memcpy(s->payload, payload, len);
    a->count++;
    return 1;
}

static uint32_t rto_from_estimate(const gl_arq_t *a)
{
    uint32_t var4 = 4u * a->rttvar8, rto;
    rto = (a->srtt8 + (var4 > 80u ? var4 : 80u)) / 8u; /* srtt + max(4 rttvar, 10 ms) */
    if (rto < GL_RTO_MIN_MS) {
        rto = GL_RTO_MIN_MS;
    }
    return rto > GL_RTO_MAX_MS ? GL_RTO_MAX_MS : rto;
}

static void sample_rtt(gl_arq_t *a, uint32_t rtt_ms)
{
    uint32_t r8 = (rtt_ms > 60000u ? 60000u : rtt_ms) * 8u;
    if (!a->have_srtt) {
        a->srtt8 = r8;
        a->rttvar8 = r8 / 2u;
        a->have_srtt = 1;
    } else {
        uint32_t dev = a->srtt8 > r8 ? a->srtt8 - r8 : r8 - a->srtt8;
        a->rttvar8 = (3u * a->rttvar8 + dev) / 4u;
        a->srtt8 = (7u * a->srtt8 + r8) / 8u;
    }
    a->rto_ms = rto_from_estimate(a);
}

void gl_arq_on_ack(gl_arq_t *a, uint8_t ack, uint32_t now_ms)
{
    int progressed = 0;
    if (seq_diff(ack, a->tx_next) > 0) {
        return; /* acknowledges frames never sent: stale, from an earlier session */
    }
    while (a->inflight > 0u && seq_diff(ack, SLOT(a, 0)->seq) > 0) {
        gl_slot_t *s = SLOT(a, 0);
        if (!s->retransmitted) { /* Karn's rule: only frames sent once give a sample */
            sample_rtt(a, reached(now_ms, s->sent_ms) ? now_ms - s->sent_ms : 0u);
        }
        a->head = (uint8_t)((a->head + 1u) % GL_TXQ_LEN);
        a->inflight--;
        a->count--;
        progressed = 1;
    }
    if (progressed) {
        a->timer_start_ms = now_ms;
        a->go_back = 0;
        if (a->have_srtt) {
            a->rto_ms = rto_from_estimate(a); /* the peer answers: drop the backoff */
        }
    }
}

int gl_arq_nak_once(gl_arq_t *a, uint32_t now_ms)
{
    if (a->nak_valid && a->nak_for == a->rx_expected &&
        (uint32_t)(now_ms - a->nak_ms) < GL_NAK_REPEAT_MS) {
        return 0;
    }
    a->nak_valid = 1;
    a->nak_for = a->rx_expected;
    a->nak_ms = now_ms;
    return 1;
}

int gl_arq_receive(gl_arq_t *a, uint8_t seq, uint32_t now_ms, int *nak)
{
    int8_t d = seq_diff(seq, a->rx_expected);
    *nak = 0;
    if (d < 0) {
        a->ack_due = 1; /* duplicate: our ACK was probably lost, acknowledge again */
        return 0;
    }
    if (d > 0) {
        *nak = gl_arq_nak_once(a, now_ms); /* gap: an earlier frame was lost */
        return 0;
    }
    a->rx_expected++;
    a->nak_valid = 0;
    a->ack_due = 1;
    return 1;
}

void gl_arq_on_nak(gl_arq_t *a, uint8_t reason)
{
    if ((reason == 5u || reason == 1u) && a->inflight > 0u) { /* OUT_OF_SEQUENCE, BAD_CRC */
        a->go_back = 1;
    }
}

int gl_arq_poll(gl_arq_t *a, uint32_t now_ms, gl_arq_send_fn send, void *ctx)
{
    int sent = 0;
    uint8_t i;
    if (a->inflight > 0u) {
        gl_slot_t *h = SLOT(a, 0);
        uint32_t start = reached(h->sent_ms, a->timer_start_ms) ? h->sent_ms : a->timer_start_ms;
        if (a->go_back || reached(now_ms, start + a->rto_ms)) {
            if (!a->go_back) {
                a->rto_ms = a->rto_ms * 2u > GL_RTO_MAX_MS ? GL_RTO_MAX_MS : a->rto_ms * 2u;
            }
            a->go_back = 0;
            for (i = 0; i < a->inflight; i++) {
                gl_slot_t *s = SLOT(a, i);
                s->retransmitted = 1;
                s->sent_ms = now_ms;
                send(ctx, s->type, s->seq, s->payload, s->len);
                a->retransmits++;
                sent = 1;
            }
            a->timer_start_ms = now_ms;
        }
    }
    while (a->inflight < a->count && a->inflight < GL_WINDOW) {
        gl_slot_t *s = SLOT(a, a->inflight);
        s->seq = a->tx_next++;
        s->sent_ms = now_ms;
        if (a->inflight == 0u) {
            a->timer_start_ms = now_ms;
        }
        a->inflight++;
        send(ctx, s->type, s->seq, s->payload, s->len);
        sent = 1;
    }
    if (sent) {
        a->ack_due = 0;
        return 0;
    }
    if (a->ack_due) {
        a->ack_due = 0;
        return 1;
    }
    return 0;
}
