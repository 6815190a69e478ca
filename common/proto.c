/*
 * proto - the wire protocol between front, broker and workers (see proto.h
 * and docs/PROTOCOL.md).
 */
#include "proto.h"

#include <string.h>
#include <zmq.h>

int proto_frame_is(const proto_frame_t *frame, const char *s)
{
    size_t len = strlen(s);
    return frame->size == len && memcmp(frame->data, s, len) == 0;
}

void proto_put_u32(unsigned char out[4], uint32_t v)
{
    out[0] = (unsigned char)(v >> 24);
    out[1] = (unsigned char)(v >> 16);
    out[2] = (unsigned char)(v >> 8);
    out[3] = (unsigned char)v;
}

void proto_put_u16(unsigned char out[2], uint16_t v)
{
    out[0] = (unsigned char)(v >> 8);
    out[1] = (unsigned char)v;
}

static uint32_t get_u32(const proto_frame_t *f)
{
    const unsigned char *p = f->data;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get_u16(const proto_frame_t *f)
{
    const unsigned char *p = f->data;
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* A service name is 1..31 printable ASCII characters without spaces: it is
 * used as a key, logged and exposed as a metrics label. */
static int valid_service(const proto_frame_t *f)
{
    if (f->size == 0 || f->size > PROTO_SERVICE_MAX)
        return 0;
    const unsigned char *p = f->data;
    for (size_t i = 0; i < f->size; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '"' || p[i] == '\\')
            return 0;
    return 1;
}

static int valid_job_id(const proto_frame_t *f)
{
    if (f->size == 0 || f->size > PROTO_JOB_ID_MAX)
        return 0;
    const unsigned char *p = f->data;
    for (size_t i = 0; i < f->size; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
              (p[i] >= 'A' && p[i] <= 'F') || p[i] == '-'))
            return 0;
    return 1;
}

/* What each command carries, per side and direction: the frame layout table
 * of docs/PROTOCOL.md as data. Field letters: s service, c client, j job id,
 * a attempt (4 bytes), t status (2 bytes), k credit (2 bytes), b body. */
typedef struct {
    enum proto_side side;
    enum proto_direction dir;
    int command;
    const char *fields;
} layout_t;

static const layout_t layouts[] = {
    {PROTO_SIDE_CLIENT, PROTO_TO_BROKER, PROTO_REQUEST, "sjb"},
    {PROTO_SIDE_CLIENT, PROTO_FROM_BROKER, PROTO_REPLY, "sjtb"},
    {PROTO_SIDE_WORKER, PROTO_TO_BROKER, PROTO_READY, "sk"},
    {PROTO_SIDE_WORKER, PROTO_TO_BROKER, PROTO_REPLY, "cjtb"},
    {PROTO_SIDE_WORKER, PROTO_TO_BROKER, PROTO_HEARTBEAT, ""},
    {PROTO_SIDE_WORKER, PROTO_TO_BROKER, PROTO_DISCONNECT, ""},
    {PROTO_SIDE_WORKER, PROTO_FROM_BROKER, PROTO_REQUEST, "cjab"},
    {PROTO_SIDE_WORKER, PROTO_FROM_BROKER, PROTO_HEARTBEAT, ""},
    {PROTO_SIDE_WORKER, PROTO_FROM_BROKER, PROTO_DISCONNECT, ""},
};

int proto_parse(const proto_frame_t *frames, int n, enum proto_direction dir, proto_parsed_t *out,
                const char **why)
{
    memset(out, 0, sizeof *out);
    if (n < 2) {
        *why = "message has fewer than two frames";
        return -1;
    }
    if (proto_frame_is(&frames[0], PROTO_CLIENT))
        out->side = PROTO_SIDE_CLIENT;
    else if (proto_frame_is(&frames[0], PROTO_WORKER))
        out->side = PROTO_SIDE_WORKER;
    else {
        *why = "unknown protocol header";
        return -1;
    }
    if (frames[1].size != 1) {
        *why = "command frame is not one byte";
        return -1;
    }
    out->command = *(const unsigned char *)frames[1].data;

    const layout_t *layout = NULL;
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (layouts[i].side == out->side && layouts[i].dir == dir &&
            layouts[i].command == out->command)
            layout = &layouts[i];
    if (!layout) {
        *why = "command not valid for this side and direction";
        return -1;
    }
    if ((size_t)n != 2 + strlen(layout->fields)) {
        *why = "wrong number of frames for command";
        return -1;
    }
    for (int i = 0; layout->fields[i]; i++) {
        const proto_frame_t *f = &frames[2 + i];
        switch (layout->fields[i]) {
        case 's':
            if (!valid_service(f)) {
                *why = "invalid service name";
                return -1;
            }
            out->service = *f;
            break;
        case 'c':
            if (f->size == 0 || f->size > 255) {
                *why = "invalid client address";
                return -1;
            }
            out->client = *f;
            break;
        case 'j':
            if (!valid_job_id(f)) {
                *why = "invalid job id";
                return -1;
            }
            out->job_id = *f;
            break;
        case 'a':
            if (f->size != 4 || get_u32(f) == 0) {
                *why = "invalid attempt frame";
                return -1;
            }
            out->attempt = get_u32(f);
            break;
        case 't':
            if (f->size != 2 || get_u16(f) < 100 || get_u16(f) > 599) {
                *why = "invalid status frame";
                return -1;
            }
            out->status = get_u16(f);
            break;
        case 'k':
            if (f->size != 2 || get_u16(f) == 0 || get_u16(f) > PROTO_CREDIT_MAX) {
                *why = "invalid credit frame";
                return -1;
            }
            out->credit = get_u16(f);
            break;
        case 'b':
            if (f->size == 0) {
                *why = "empty body";
                return -1;
            }
            out->body = *f;
            break;
        }
    }
    return 0;
}

int proto_send(void *socket, const proto_frame_t *frames, int n)
{
    for (int i = 0; i < n; i++) {
        int flags = i + 1 < n ? ZMQ_SNDMORE : 0;
        if (zmq_send(socket, frames[i].data, frames[i].size, flags) < 0)
            return -1;
    }
    return 0;
}

int proto_recv(void *socket, zmq_msg_t msgs[PROTO_MAX_FRAMES], int *count, int flags)
{
    int n = 0;
    *count = 0;
    for (;;) {
        zmq_msg_t scratch;
        zmq_msg_t *part = n < PROTO_MAX_FRAMES ? &msgs[n] : &scratch;
        zmq_msg_init(part);
        if (zmq_msg_recv(part, socket, n == 0 ? flags : 0) < 0) {
            zmq_msg_close(part);
            proto_close(msgs, n < PROTO_MAX_FRAMES ? n : PROTO_MAX_FRAMES);
            return -1;
        }
        int more = zmq_msg_more(part);
        if (part == &scratch)
            zmq_msg_close(part);
        n++;
        if (!more)
            break;
    }
    if (n > PROTO_MAX_FRAMES) {
        proto_close(msgs, PROTO_MAX_FRAMES);
        *count = -1;
        return -1;
    }
    *count = n;
    return 0;
}

void proto_close(zmq_msg_t *msgs, int count)
{
    for (int i = 0; i < count; i++)
        zmq_msg_close(&msgs[i]);
}

void proto_frames_of(zmq_msg_t *msgs, int count, proto_frame_t *frames)
{
    for (int i = 0; i < count; i++) {
        frames[i].data = zmq_msg_data(&msgs[i]);
        frames[i].size = zmq_msg_size(&msgs[i]);
    }
}
