/*
 * metrics - the front's counters and the Prometheus text of GET /metrics.
 *
 * HTTP requests are counted per route and status, with a latency histogram
 * per route, in fixed arrays of atomics: recording is a few relaxed atomic
 * adds, no lock and no allocation. Rendering adds the jobs by state (from
 * the journal) and the per-pool figures (from the broker).
 */
#ifndef MANDI_METRICS_H
#define MANDI_METRICS_H

#include <stdint.h>

#include "buf.h"

void metrics_init(void);

/* route: index in the route table, or -1 for a path no route matched. */
void metrics_record(int route, int status, int64_t duration_us);

/* Appends the Prometheus text exposition (version 0.0.4). */
void metrics_render(buf_t *out);

#endif
