/*
 * catalog - the pool's job table (see catalog.h).
 */
#include "catalog.h"

const job_handler_t catalog_jobs[] = {
    {"category.list", category_list, 0},
    {"category.tree", category_tree, 0},
    {"category.get", category_get, 0},
    {"category.create", category_create, JOB_TX},
    {"category.update", category_update, JOB_TX},
    {"category.delete", category_delete, JOB_TX},
    {NULL, NULL, 0},
};
