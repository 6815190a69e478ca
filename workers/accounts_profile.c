/*
 * accounts_profile - the caller's own profile and preferences.
 *
 * Every statement is keyed by the job's user_id (the token's subject), so
 * a caller can reach no other user's row. Updates name the fields given:
 * each column has a "was it sent" flag and a value, which keeps one static,
 * parameterised statement for every combination.
 */
#include <string.h>

#include "accounts.h"
#include "config.h"
#include "input.h"
#include "mp.h"

static const char *const genders[] = {"male", "female", "other", "undisclosed", NULL};
static const char *const languages[] = {"en", "hi", "ta", "te", "kn", "ml",
                                        "mr", "bn", "gu", "pa", NULL};
static const char *const themes[] = {"light", "dark", "system", NULL};

/* Answers one JSON value computed by PostgreSQL for the caller. */
static int answer_user_json(job_ctx_t *ctx, const char *sql, int nparams, const char *const *params)
{
    return answer_json(ctx, 200, sql, nparams, params, "USER_NOT_FOUND", "the user does not exist");
}

int user_me(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    return answer_user_json(
        ctx, "SELECT mandi_user_json(u)::text FROM users u WHERE u.id = $1::uuid", 1, params);
}

int user_update(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char name[404], email[255], avatar[2049 * 4], dob[11], gender[16];
    int has_name, has_email, has_avatar, has_dob, has_gender, rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "name", IN_OPTIONAL, 1, 100, name, sizeof name, &has_name)) ||
        (rc = input_email(ctx, body, "email", IN_OPTIONAL, email, &has_email)) ||
        (rc = input_str(ctx, body, "avatar_url", IN_OPTIONAL, 1, 2048, avatar, sizeof avatar,
                        &has_avatar)) ||
        (rc = input_date(ctx, body, "date_of_birth", IN_OPTIONAL, 1, dob, &has_dob)) ||
        (rc = input_choice(ctx, body, "gender", IN_OPTIONAL, genders, gender, sizeof gender,
                           &has_gender)))
        return rc;
    if (has_name == IN_NULL)
        return input_fail(ctx, "name", "name cannot be removed");
    if (has_email == IN_NULL)
        return input_fail(ctx, "email", "email cannot be removed");
    if (has_avatar == IN_PRESENT && strncmp(avatar, "https://", 8) != 0 &&
        strncmp(avatar, "http://", 7) != 0)
        return input_fail(ctx, "avatar_url", "avatar_url must be an http or https URL");
    const char *params[] = {
        ctx->job->user_id,
        input_sent(has_name),
        has_name == IN_PRESENT ? name : NULL,
        input_sent(has_email),
        has_email == IN_PRESENT ? email : NULL,
        input_sent(has_avatar),
        has_avatar == IN_PRESENT ? avatar : NULL,
        input_sent(has_dob),
        has_dob == IN_PRESENT ? dob : NULL,
        input_sent(has_gender),
        has_gender == IN_PRESENT ? gender : NULL,
    };
    PGresult *res =
        PQexecParams(ctx->db,
                     "UPDATE users u SET "
                     "name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
                     "email = CASE WHEN $4::boolean THEN $5 ELSE email END, "
                     "avatar_url = CASE WHEN $6::boolean THEN $7 ELSE avatar_url END, "
                     "date_of_birth = CASE WHEN $8::boolean THEN $9::date ELSE date_of_birth END, "
                     "gender = CASE WHEN $10::boolean THEN $11 ELSE gender END, updated_at = now() "
                     "WHERE id = $1::uuid RETURNING mandi_user_json(u)::text",
                     11, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23505") == 0) {
            PQclear(res);
            return job_fail(ctx, 409, "EMAIL_TAKEN", "an account with this email exists");
        }
        return answer_db_failed(ctx, res);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, "USER_NOT_FOUND", "the user does not exist");
    }
    rc = answer_pack_json(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc ? rc : 200;
}

int user_deactivate(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "UPDATE users SET status = 'deactivated', updated_at = now() "
                                 "WHERE id = $1::uuid RETURNING id",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return job_fail(ctx, 404, "USER_NOT_FOUND", "the user does not exist");
    int rc = session_revoke_user(ctx, ctx->job->user_id, "deactivated");
    if (rc)
        return rc;
    msgpack_pack_map(&ctx->body, 1);
    mp_kv_str(&ctx->body, "status", "deactivated");
    return 200;
}

/* The preferences as answered: quiet hours the user never set show the
 * service's (MANDI_QUIET_HOURS_*), which are the ones that hold. */
#define PREFERENCES_JSON                                                                           \
    "(jsonb_build_object('quiet_hours', jsonb_build_object('start', $2::text, 'end', $3::text)) "  \
    "|| preferences)::text"

int user_preferences(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id, config_get("MANDI_QUIET_HOURS_START"),
                            config_get("MANDI_QUIET_HOURS_END")};
    return answer_user_json(ctx, "SELECT " PREFERENCES_JSON " FROM users WHERE id = $1::uuid", 3,
                            params);
}

/* "HH:MM", 00:00 to 23:59. */
static int valid_clock(const char *s)
{
    return strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
           (s[0] < '2' || s[1] <= '3') && s[2] == ':' && s[3] >= '0' && s[3] <= '5' &&
           s[4] >= '0' && s[4] <= '9';
}

/* Reads "quiet_hours": {"start", "end"} (India time; equal means none)
 * into start and end, left "" when the field is absent. */
static int read_quiet_hours(job_ctx_t *ctx, const msgpack_object *body, char start[6], char end[6])
{
    const msgpack_object *q = mp_get(body, "quiet_hours");
    if (!q)
        return 0;
    if (q->type != MSGPACK_OBJECT_MAP)
        return input_fail(ctx, "quiet_hours", "quiet_hours must be an object {start, end}");
    static const char *const fields[] = {"start", "end"};
    char *out[] = {start, end};
    for (int i = 0; i < 2; i++)
        if (mp_copy_str(mp_get(q, fields[i]), out[i], 6) < 0 || !valid_clock(out[i]))
            return input_fail(ctx, i ? "quiet_hours.end" : "quiet_hours.start",
                              "quiet_hours.%s must be a time of day HH:MM", fields[i]);
    return 0;
}

static const char *bool_param(int found, int value)
{
    return found == IN_PRESENT ? (value ? "true" : "false") : NULL;
}

int user_set_preferences(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char language[8], theme[8];
    int rc, has_language, has_theme;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "language", IN_OPTIONAL, languages, language, sizeof language,
                           &has_language)) ||
        (rc = input_choice(ctx, body, "theme", IN_OPTIONAL, themes, theme, sizeof theme,
                           &has_theme)))
        return rc;
    /* A preference always has a value: null is not a way to unset it. */
    if (has_language == IN_NULL)
        return input_fail(ctx, "language", "language must be one of the supported languages");
    if (has_theme == IN_NULL)
        return input_fail(ctx, "theme", "theme must be light, dark or system");
    static const char *const channels[] = {"sms", "email", "push", "marketing"};
    int value[4] = {0}, found[4] = {0};
    const msgpack_object *notifications = mp_get(body, "notifications");
    if (notifications && notifications->type != MSGPACK_OBJECT_NIL) {
        if (notifications->type != MSGPACK_OBJECT_MAP)
            return input_fail(ctx, "notifications", "notifications must be an object");
        for (int i = 0; i < 4; i++) {
            char field[40];
            snprintf(field, sizeof field, "notifications.%s", channels[i]);
            if ((rc = input_bool(ctx, notifications, channels[i], field, &value[i], &found[i])))
                return rc;
            if (found[i] == IN_NULL)
                return input_fail(ctx, field, "%s must be true or false", field);
        }
    }
    char quiet_start[6] = "", quiet_end[6] = "";
    if ((rc = read_quiet_hours(ctx, body, quiet_start, quiet_end)))
        return rc;
    const char *params[] = {
        ctx->job->user_id,
        config_get("MANDI_QUIET_HOURS_START"),
        config_get("MANDI_QUIET_HOURS_END"),
        language[0] ? language : NULL,
        theme[0] ? theme : NULL,
        bool_param(found[0], value[0]),
        bool_param(found[1], value[1]),
        bool_param(found[2], value[2]),
        bool_param(found[3], value[3]),
        quiet_start[0] ? quiet_start : NULL,
        quiet_end[0] ? quiet_end : NULL,
    };
    /* Absent fields are NULL, and jsonb_strip_nulls leaves them out of the
     * merge: what was not sent keeps its value. */
    return answer_user_json(
        ctx,
        "UPDATE users SET preferences = preferences "
        "|| jsonb_strip_nulls(jsonb_build_object('language', $4::text, 'theme', $5::text, "
        "'quiet_hours', CASE WHEN $10::text IS NOT NULL THEN "
        "jsonb_build_object('start', $10::text, 'end', $11::text) END)) "
        "|| jsonb_build_object('notifications', coalesce(preferences->'notifications', '{}') "
        "|| jsonb_strip_nulls(jsonb_build_object('sms', $6::boolean, 'email', $7::boolean, "
        "'push', $8::boolean, 'marketing', $9::boolean))), updated_at = now() "
        "WHERE id = $1::uuid RETURNING " PREFERENCES_JSON,
        11, params);
}
