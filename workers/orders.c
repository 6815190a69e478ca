/*
 * orders - the pool's job table (see orders.h).
 */
#include "orders.h"

const job_handler_t orders_jobs[] = {
    {"cart.get", cart_get, JOB_TX},
    {"cart.add_item", cart_add_item, JOB_TX},
    {"cart.update_item", cart_update_item, JOB_TX},
    {"cart.remove_item", cart_remove_item, JOB_TX},
    {"cart.clear", cart_clear, JOB_TX},
    {"cart.validate", cart_validate, JOB_TX},
    {"cart.detach_promotions", cart_detach_promotions, JOB_TX},
    {"promotion.list", promotion_list, 0},
    {"promotion.create", promotion_create, JOB_TX},
    {"promotion.get", promotion_get, 0},
    {"promotion.update", promotion_update, JOB_TX},
    {"promotion.delete", promotion_delete, JOB_TX},
    {"promotion.preview", promotion_preview, JOB_TX},
    {"promotion.apply", promotion_apply, JOB_TX},
    {"order.create", order_create, JOB_TX},
    {"order.list", order_list, 0},
    {"order.stats", order_stats, 0},
    {"order.get", order_get, 0},
    {"order.set_status", order_set_status, JOB_TX},
    {"order.cancel", order_cancel, JOB_TX},
    {"order.expire_unpaid", order_expire_unpaid, JOB_TX},
    {"delivery.route_list", route_list, 0},
    {"delivery.route_get", route_get, 0},
    {"delivery.route_create", route_create, JOB_TX},
    {"delivery.route_update", route_update, JOB_TX},
    {"delivery.route_delete", route_delete, JOB_TX},
    {"delivery.route_assign", route_assign, JOB_TX},
    {NULL, NULL, 0},
};
