/*
 * config - every setting mandi reads from the environment, with its default
 * and its meaning, kept in one table in config.c.
 *
 * The table is the single source of truth: lookups, the production safety
 * check and the generated .env.example all read it, so a setting cannot be
 * used without a documented default, and the example file cannot drift.
 * Defaults suit a developer's machine; production must override the secrets.
 */
#ifndef MANDI_CONFIG_H
#define MANDI_CONFIG_H

#include <stdio.h>

#include "buf.h"

/* The environment value if set and non-empty, else the table default.
 * NULL for a name not in the table, so a typo fails loudly at the caller. */
const char *config_get(const char *name);

/* config_get parsed as a base-10 integer: optional '-', digits, nothing else.
 * Junk or out-of-range values fall back to the default; 0 if the name is
 * unknown or its default is not numeric either. */
long config_get_long(const char *name);

/* 1 if MANDI_ENV is exactly "production", else 0. */
int config_is_production(void);

/* In production, every secret setting must be set explicitly in the
 * environment and differ from its development default. Returns 0 when that
 * holds or when not in production; otherwise appends to why (if not NULL) a
 * message naming each offending variable and returns -1. */
int config_check(buf_t *why);

/* config_check for a process starting up: logs the reason at error level
 * when it refuses. Returns 0, or -1 (the process should exit 1). */
int config_check_at_start(void);

/* Writes the .env.example text: a header, then for each setting a "# ..."
 * comment line with its description and a NAME=default line. */
void config_write_example(FILE *f);

#endif
