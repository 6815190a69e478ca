/*
 * uuid - random (version 4) UUIDs for request ids, job ids, token ids and
 * primary keys, plus a syntax check for ids that arrive from outside.
 *
 * Ids are minted on every request and job, so the random bytes come from a
 * per-thread pool refilled in batches by getrandom(2) instead of costing one
 * system call each.
 */
#ifndef MANDI_UUID_H
#define MANDI_UUID_H

/* Writes a new random v4 UUID as 36 lowercase characters with dashes plus a
 * terminating NUL, e.g. "0b7c6f2e-93d4-4a8e-b1f0-5c2d7e9a4b13". Thread-safe.
 * Aborts the process if the kernel cannot supply random bytes at all: a
 * predictable id would be worse than no process. */
void uuid_v4(char out[37]);

/* Returns 1 if s is exactly 36 characters in the canonical 8-4-4-4-12 layout
 * (hex digits in either case, any version), 0 otherwise (including NULL). */
int uuid_valid(const char *s);

/* Writes the 16 bytes of a UUID (as PostgreSQL sends it in binary) as text. */
void uuid_format(const unsigned char bytes[16], char out[37]);

#endif
