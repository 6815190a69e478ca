/*
 * test_notify_template - rendering notification templates: placeholders,
 * nested members, the rupees filter, absent members, and every malformed
 * template refused with a reason.
 */
#include <msgpack.h>
#include <stdint.h>

#include "check.h"
#include "mp.h"
#include "notify_template.h"

/* {"number": "MND-7", "total_paise": 12345, "neg": -250, "paid": true,
 *  "gone": null, "order": {"zone": "z1"}, "items": [1]} */
static msgpack_unpacked data_unpacked;
static buf_t data_buf = BUF_INIT;

static const msgpack_object *make_data(void)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &data_buf, buf_msgpack_write);
    msgpack_pack_map(&pk, 7);
    mp_kv_str(&pk, "number", "MND-7");
    mp_kv_i64(&pk, "total_paise", 12345);
    mp_kv_i64(&pk, "neg", -250);
    mp_pack_cstr(&pk, "paid");
    msgpack_pack_true(&pk);
    mp_pack_cstr(&pk, "gone");
    msgpack_pack_nil(&pk);
    mp_pack_cstr(&pk, "order");
    msgpack_pack_map(&pk, 1);
    mp_kv_str(&pk, "zone", "z1");
    mp_pack_cstr(&pk, "items");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_unpacked_init(&data_unpacked);
    size_t off = 0;
    if (msgpack_unpack_next(&data_unpacked, data_buf.data, data_buf.len, &off) !=
        MSGPACK_UNPACK_SUCCESS)
        return NULL;
    return &data_unpacked.data;
}

/* Renders tpl; returns the text (static) or NULL with why filled. */
static char why[256];
static buf_t out = BUF_INIT;
static const char *render(const msgpack_object *data, const char *tpl)
{
    buf_reset(&out);
    why[0] = '\0';
    if (notify_template_render(tpl, strlen(tpl), data, &out, why, sizeof why) < 0)
        return NULL;
    return out.data ? out.data : "";
}

int main(void)
{
    const msgpack_object *d = make_data();
    CHECK(d != NULL);

    CHECK_STR(render(d, "plain text"), "plain text");
    CHECK_STR(render(d, ""), "");
    CHECK_STR(render(d, "Order {{number}} confirmed"), "Order MND-7 confirmed");
    CHECK_STR(render(d, "{{ number }}"), "MND-7");
    CHECK_STR(render(d, "{{number}}{{number}}"), "MND-7MND-7");
    CHECK_STR(render(d, "{{total_paise}}"), "12345");
    CHECK_STR(render(d, "{{neg}}"), "-250");
    CHECK_STR(render(d, "{{paid}}"), "true");
    CHECK_STR(render(d, "zone {{order.zone}}"), "zone z1");
    /* Absent and null members show as nothing: events carry optional ones. */
    CHECK_STR(render(d, "[{{missing}}]"), "[]");
    CHECK_STR(render(d, "[{{gone}}]"), "[]");
    CHECK_STR(render(d, "[{{order.none}}]"), "[]");
    CHECK_STR(render(d, "[{{number.deeper}}]"), "[]");
    CHECK_STR(render(NULL, "[{{number}}]"), "[]");
    CHECK_STR(render(d, "[{{missing|rupees}}]"), "[]");

    /* The rupees filter. */
    CHECK_STR(render(d, "{{total_paise|rupees}}"), "\u20b9123.45");
    CHECK_STR(render(d, "{{ total_paise | rupees }}"), "\u20b9123.45");
    CHECK_STR(render(d, "{{neg|rupees}}"), "-\u20b92.50");

    /* A single brace is text; UTF-8 passes through. */
    CHECK_STR(render(d, "{ not } a {placeholder}"), "{ not } a {placeholder}");
    CHECK_STR(render(d, "ऑर्डर {{number}} पक्का"), "ऑर्डर MND-7 पक्का");

    /* Refused, with a reason. */
    CHECK(render(d, "Order {{number") == NULL);
    CHECK(strstr(why, "not closed") != NULL);
    CHECK(render(d, "{{}}") == NULL);
    CHECK(strstr(why, "no valid name") != NULL);
    CHECK(render(d, "{{a b}}") == NULL);
    CHECK(render(d, "{{.number}}") == NULL);
    CHECK(render(d, "{{order..zone}}") == NULL);
    CHECK(render(d, "{{number|shout}}") == NULL);
    CHECK(strstr(why, "unknown filter \"shout\"") != NULL);
    CHECK(render(d, "{{number|rupees}}") == NULL);
    CHECK(strstr(why, "cannot be shown with filter rupees") != NULL);
    CHECK(render(d, "{{order}}") == NULL);
    CHECK(render(d, "{{items}}") == NULL);
    CHECK(strstr(why, "not a text, number or boolean") != NULL);

    buf_free(&out);
    msgpack_unpacked_destroy(&data_unpacked);
    buf_free(&data_buf);
    return check_summary();
}
