/*
 * Wire frames: every command parses in its direction, and malformed
 * messages (wrong header, command, frame count, field contents) are refused.
 */
#include "check.h"
#include "proto.h"

#define F(s) ((proto_frame_t){s, sizeof s - 1})

static int parse(const proto_frame_t *f, int n, enum proto_direction dir, proto_parsed_t *m)
{
    const char *why = NULL;
    int rc = proto_parse(f, n, dir, m, &why);
    if (rc < 0)
        CHECK(why != NULL);
    return rc;
}

int main(void)
{
    proto_parsed_t m;
    unsigned char ready = PROTO_READY, request = PROTO_REQUEST, reply = PROTO_REPLY,
                  heartbeat = PROTO_HEARTBEAT, disconnect = PROTO_DISCONNECT, bogus = 0x09;
    const char *job_id = "1b4e28ba-2fa1-4d2e-883f-0016d3cca427";
    proto_frame_t id = {job_id, 36};
    unsigned char attempt[4], status[2];
    proto_put_u32(attempt, 3);
    proto_put_u16(status, 201);
    CHECK_INT(attempt[3], 3);
    CHECK_INT(status[0], 0);
    CHECK_INT(status[1], 201);

    /* Client -> broker REQUEST. */
    proto_frame_t creq[] = {F(PROTO_CLIENT), {&request, 1}, F("orders"), id, F("\x80")};
    CHECK_INT(parse(creq, 5, PROTO_TO_BROKER, &m), 0);
    CHECK_INT(m.side, PROTO_SIDE_CLIENT);
    CHECK_INT(m.command, PROTO_REQUEST);
    CHECK(proto_frame_is(&m.service, "orders"));
    CHECK_INT(m.job_id.size, 36);
    CHECK_INT(m.body.size, 1);

    /* Broker -> client REPLY. */
    proto_frame_t crep[] = {F(PROTO_CLIENT), {&reply, 1}, F("orders"), id, {status, 2}, F("\x80")};
    CHECK_INT(parse(crep, 6, PROTO_FROM_BROKER, &m), 0);
    CHECK_INT(m.status, 201);

    /* Worker READY, HEARTBEAT, DISCONNECT, REPLY to the broker. */
    unsigned char credit[2];
    proto_put_u16(credit, 8);
    proto_frame_t wready[] = {F(PROTO_WORKER), {&ready, 1}, F("catalog"), {credit, 2}};
    CHECK_INT(parse(wready, 4, PROTO_TO_BROKER, &m), 0);
    CHECK_INT(m.side, PROTO_SIDE_WORKER);
    CHECK(proto_frame_is(&m.service, "catalog"));
    CHECK_INT(m.credit, 8);
    CHECK_INT(parse(wready, 3, PROTO_TO_BROKER, &m), -1);               /* credit missing */
    unsigned char no_credit[2] = {0, 0}, much_credit[2] = {0x03, 0xe9}; /* 0 and 1001 */
    proto_frame_t zero_credit[] = {F(PROTO_WORKER), {&ready, 1}, F("catalog"), {no_credit, 2}};
    CHECK_INT(parse(zero_credit, 4, PROTO_TO_BROKER, &m), -1);
    proto_frame_t big_credit[] = {F(PROTO_WORKER), {&ready, 1}, F("catalog"), {much_credit, 2}};
    CHECK_INT(parse(big_credit, 4, PROTO_TO_BROKER, &m), -1);
    proto_frame_t whb[] = {F(PROTO_WORKER), {&heartbeat, 1}};
    CHECK_INT(parse(whb, 2, PROTO_TO_BROKER, &m), 0);
    CHECK_INT(parse(whb, 2, PROTO_FROM_BROKER, &m), 0);
    proto_frame_t wdis[] = {F(PROTO_WORKER), {&disconnect, 1}};
    CHECK_INT(parse(wdis, 2, PROTO_TO_BROKER, &m), 0);
    proto_frame_t wrep[] = {F(PROTO_WORKER), {&reply, 1}, F("\x00k\x8b"), id,
                            {status, 2},     F("\x80")};
    CHECK_INT(parse(wrep, 6, PROTO_TO_BROKER, &m), 0);
    CHECK_INT(m.client.size, 3);

    /* Broker -> worker REQUEST carries the attempt. */
    proto_frame_t wreq[] = {F(PROTO_WORKER), {&request, 1}, F("cli"), id, {attempt, 4}, F("\x80")};
    CHECK_INT(parse(wreq, 6, PROTO_FROM_BROKER, &m), 0);
    CHECK_INT(m.attempt, 3);

    /* Refusals. */
    proto_frame_t bad_header[] = {F("MDPC01"), {&request, 1}, F("orders"), id, F("\x80")};
    CHECK_INT(parse(bad_header, 5, PROTO_TO_BROKER, &m), -1);
    CHECK_INT(parse(creq, 1, PROTO_TO_BROKER, &m), -1);     /* too few frames */
    CHECK_INT(parse(creq, 4, PROTO_TO_BROKER, &m), -1);     /* body missing */
    CHECK_INT(parse(creq, 5, PROTO_FROM_BROKER, &m), -1);   /* wrong direction */
    CHECK_INT(parse(wready, 4, PROTO_FROM_BROKER, &m), -1); /* READY goes up only */
    proto_frame_t two_byte_cmd[] = {F(PROTO_WORKER), F("\x01\x01"), F("orders"), {credit, 2}};
    CHECK_INT(parse(two_byte_cmd, 4, PROTO_TO_BROKER, &m), -1);
    proto_frame_t unknown_cmd[] = {F(PROTO_WORKER), {&bogus, 1}};
    CHECK_INT(parse(unknown_cmd, 2, PROTO_TO_BROKER, &m), -1);
    proto_frame_t long_service[] = {
        F(PROTO_WORKER), {&ready, 1}, F("a-service-name-that-is-far-too-long"), {credit, 2}};
    CHECK_INT(parse(long_service, 4, PROTO_TO_BROKER, &m), -1);
    proto_frame_t space_service[] = {F(PROTO_WORKER), {&ready, 1}, F("or ders"), {credit, 2}};
    CHECK_INT(parse(space_service, 4, PROTO_TO_BROKER, &m), -1);
    proto_frame_t empty_service[] = {F(PROTO_WORKER), {&ready, 1}, {"", 0}, {credit, 2}};
    CHECK_INT(parse(empty_service, 4, PROTO_TO_BROKER, &m), -1);
    proto_frame_t bad_id[] = {
        F(PROTO_CLIENT), {&request, 1}, F("orders"), F("not a uuid!"), F("\x80")};
    CHECK_INT(parse(bad_id, 5, PROTO_TO_BROKER, &m), -1);
    unsigned char zero[4] = {0, 0, 0, 0};
    proto_frame_t zero_attempt[] = {F(PROTO_WORKER), {&request, 1}, F("cli"), id,
                                    {zero, 4},       F("\x80")};
    CHECK_INT(parse(zero_attempt, 6, PROTO_FROM_BROKER, &m), -1);
    proto_frame_t short_attempt[] = {F(PROTO_WORKER), {&request, 1}, F("cli"), id,
                                     {attempt, 3},    F("\x80")};
    CHECK_INT(parse(short_attempt, 6, PROTO_FROM_BROKER, &m), -1);
    unsigned char bad_status[2] = {0x03, 0xe8}; /* 1000 */
    proto_frame_t wrong_status[] = {F(PROTO_WORKER), {&reply, 1}, F("cli"), id,
                                    {bad_status, 2}, F("\x80")};
    CHECK_INT(parse(wrong_status, 6, PROTO_TO_BROKER, &m), -1);
    proto_frame_t empty_body[] = {F(PROTO_CLIENT), {&request, 1}, F("orders"), id, {"", 0}};
    CHECK_INT(parse(empty_body, 5, PROTO_TO_BROKER, &m), -1);
    proto_frame_t hb_extra[] = {F(PROTO_WORKER), {&heartbeat, 1}, F("x")};
    CHECK_INT(parse(hb_extra, 3, PROTO_TO_BROKER, &m), -1);
    return check_summary();
}
