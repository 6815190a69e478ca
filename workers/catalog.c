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
    {"listing.list", listing_list, 0},
    {"listing.get", listing_get, 0},
    {"listing.create", listing_create, JOB_TX},
    {"listing.update", listing_update, JOB_TX},
    {"listing.delete", listing_delete, JOB_TX},
    {"listing.review", listing_review, JOB_TX},
    {"listing.sold", listing_sold, JOB_TX},
    {"listing.boost", listing_boost, JOB_TX},
    {"listing.expire", listing_expire, JOB_TX},
    {"boost_plan.list", boost_plan_list, 0},
    {NULL, NULL, 0},
};
