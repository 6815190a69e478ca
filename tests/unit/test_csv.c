/*
 * test_csv - RFC 4180 quoting and formula-injection guards of csv.c.
 */
#include <string.h>

#include "check.h"
#include "csv.h"

static const char *row(const char *const *fields, size_t n, buf_t *b)
{
    buf_reset(b);
    for (size_t i = 0; i < n; i++)
        csv_text(b, i == 0, fields[i], strlen(fields[i]));
    csv_end(b);
    buf_append_char(b, '\0');
    return b->data;
}

int main(void)
{
    buf_t b = BUF_INIT;
    static const struct {
        const char *in, *out;
    } cells[] = {
        {"plain", "plain\r\n"},
        {"", "\r\n"},
        {"a,b", "\"a,b\"\r\n"},
        {"say \"hi\"", "\"say \"\"hi\"\"\"\r\n"},
        {"two\nlines", "\"two\nlines\"\r\n"},
        {"cr\rhere", "\"cr\rhere\"\r\n"},
        {"=SUM(A1:A9)", "'=SUM(A1:A9)\r\n"},
        {"+91 98765", "'+91 98765\r\n"},
        {"-2+3", "'-2+3\r\n"},
        {"@cmd", "'@cmd\r\n"},
        {"\tTAB", "'\tTAB\r\n"},
        {"\r=x", "\"'\r=x\"\r\n"},
        {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n"},
        {"a=b", "a=b\r\n"},
        {"ಬೆಂಗಳೂರು", "ಬೆಂಗಳೂರು\r\n"},
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        const char *one[] = {cells[i].in};
        CHECK_STR(row(one, 1, &b), cells[i].out);
    }
    const char *three[] = {"x", "y,z", "=1"};
    CHECK_STR(row(three, 3, &b), "x,\"y,z\",'=1\r\n");
    buf_reset(&b);
    csv_int(&b, 1, -5000);
    csv_int(&b, 0, 9223372036854775807LL);
    csv_text(&b, 0, "ok", 2);
    csv_end(&b);
    buf_append_char(&b, '\0');
    CHECK_STR(b.data, "-5000,9223372036854775807,ok\r\n");
    buf_free(&b);
    return check_summary();
}
