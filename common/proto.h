/*
 * proto - the wire protocol between front, broker and workers.
 *
 * A Majordomo-style protocol over ZeroMQ: clients (the HTTP front) and
 * workers both connect DEALER sockets to the broker's ROUTER. Every message
 * starts with a protocol header frame that says which side speaks, then a
 * one-byte command frame, then the command's frames. Bodies are msgpack (the
 * job and reply envelopes of job.h). docs/PROTOCOL.md is the specification;
 * this module is its single implementation: building frames and checking
 * received ones, with no socket state of its own.
 */
#ifndef MANDI_PROTO_H
#define MANDI_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define PROTO_CLIENT "MNDC01"
#define PROTO_WORKER "MNDW01"

enum proto_command {
    PROTO_READY = 0x01,      /* worker -> broker: [service][credit] */
    PROTO_REQUEST = 0x02,    /* client -> broker: [service][job id][body]
                                broker -> worker: [client][job id][attempt][body] */
    PROTO_REPLY = 0x03,      /* worker -> broker: [client][job id][status][body]
                                broker -> client: [service][job id][status][body] */
    PROTO_HEARTBEAT = 0x04,  /* worker <-> broker: no further frames */
    PROTO_DISCONNECT = 0x05, /* worker <-> broker: no further frames */
};

enum proto_side { PROTO_SIDE_CLIENT, PROTO_SIDE_WORKER };

/* Who sent the message: a parse checks the command against its direction. */
enum proto_direction {
    PROTO_TO_BROKER,   /* parsed by the broker (identity frame already removed) */
    PROTO_FROM_BROKER, /* parsed by a client or a worker */
};

#define PROTO_MAX_FRAMES  8
#define PROTO_SERVICE_MAX 31
#define PROTO_JOB_ID_MAX  36 /* a UUID in text form */
#define PROTO_CREDIT_MAX  1000

typedef struct {
    const void *data;
    size_t size;
} proto_frame_t;

/* A checked message: which fields are set depends on the command. */
typedef struct {
    enum proto_side side;
    int command;
    proto_frame_t service; /* READY, client REQUEST, client REPLY */
    proto_frame_t client;  /* worker REQUEST and REPLY: the client's routing id */
    proto_frame_t job_id;  /* REQUEST, REPLY */
    proto_frame_t body;    /* REQUEST, REPLY: msgpack */
    uint32_t attempt;      /* worker REQUEST: 1 on first delivery */
    uint16_t status;       /* REPLY: the HTTP-like status of the reply envelope */
    uint16_t credit;       /* READY: jobs the worker takes at once, 1..PROTO_CREDIT_MAX */
} proto_parsed_t;

/* Checks frames[0..n) of one message against the protocol; on success fills
 * *out and returns 0. On failure returns -1 and points *why at a static
 * explanation (for the log; a malformed peer gets no answer). */
int proto_parse(const proto_frame_t *frames, int n, enum proto_direction dir, proto_parsed_t *out,
                const char **why);

/* Big-endian encodings of the small integer frames. */
void proto_put_u32(unsigned char out[4], uint32_t v);
void proto_put_u16(unsigned char out[2], uint16_t v);

/* Sends frames as one multipart message; returns 0 or -1 (errno from zmq). */
int proto_send(void *socket, const proto_frame_t *frames, int n);

/* Receives every part of one message into msgs (at most PROTO_MAX_FRAMES;
 * extra parts are drained and make the call fail with *count = -1 so that a
 * flood of frames cannot desynchronise the stream). Returns 0 or -1.
 * The caller closes msgs[0..*count) with proto_close. */
int proto_recv(void *socket, zmq_msg_t msgs[PROTO_MAX_FRAMES], int *count, int flags);
void proto_close(zmq_msg_t *msgs, int count);

/* Fills frames[i] from received messages, for proto_parse. */
void proto_frames_of(zmq_msg_t *msgs, int count, proto_frame_t *frames);

/* Whether a frame holds exactly the NUL-terminated text s. */
int proto_frame_is(const proto_frame_t *frame, const char *s);

#endif
