/*
 * routes - the HTTP route table and its matcher (see routes.h).
 *
 * The table is small and matching walks it segment by segment without
 * allocating; a request costs a few dozen string comparisons.
 */
#include "routes.h"

#include <stdio.h>
#include <string.h>

/* clang-format off */
#define ACC "accounts"
#define CAT "catalog"
#define ORD "orders"
#define PAY "payments"
#define ANA "analytics"
#define NOT "notifications"
#define TS (ROUTE_SYNC | ROUTE_TRANSIENT)
static const route_t routes[] = {
    /* method  pattern                          kind               service  job type          auth           permission     wait  flags */
    {"GET",    "/health",                       ROUTE_HEALTH,      NULL,    NULL,             AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/ready",                        ROUTE_READY,       NULL,    NULL,             AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/metrics",                      ROUTE_METRICS,     NULL,    NULL,             AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/jobs/:id",                 ROUTE_JOB_STATUS,  NULL,    NULL,             AUTH_OPTIONAL, NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/admin/pools",              ROUTE_ADMIN_POOLS, NULL,    NULL,             AUTH_USER,     "pools.read",  0,    ROUTE_SYNC},
    {"GET",    "/api/events/stream",            ROUTE_STREAM,      NULL,    NULL,             AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"GET",    "/api/ping/:pool",               ROUTE_JOB,         ":pool", "ping",           AUTH_NONE,     NULL,          2000, ROUTE_SYNC},
    /* Accounts: sign-in. Bodies carry passwords and codes: never recorded. */
    {"POST",   "/api/auth/send-otp",            ROUTE_JOB,         ACC,     "auth.send_otp",  AUTH_NONE,     NULL,          0,    TS},
    {"POST",   "/api/auth/verify-otp",          ROUTE_JOB,         ACC,     "auth.verify_otp", AUTH_NONE,    NULL,          0,    TS},
    {"POST",   "/api/auth/register",            ROUTE_JOB,         ACC,     "auth.register",  AUTH_NONE,     NULL,          0,    TS},
    {"POST",   "/api/auth/login",               ROUTE_JOB,         ACC,     "auth.login",     AUTH_NONE,     NULL,          0,    TS},
    {"POST",   "/api/auth/refresh",             ROUTE_JOB,         ACC,     "auth.refresh",   AUTH_NONE,     NULL,          0,    TS},
    {"POST",   "/api/auth/logout",              ROUTE_JOB,         ACC,     "auth.logout",    AUTH_USER,     "self",        0,    TS},
    {"POST",   "/api/auth/forgot-password",     ROUTE_JOB,         ACC,     "auth.forgot_password", AUTH_NONE, NULL,        0,    TS},
    {"POST",   "/api/auth/reset-password",      ROUTE_JOB,         ACC,     "auth.reset_password", AUTH_NONE, NULL,         0,    TS},
    {"GET",    "/api/auth/me",                  ROUTE_JOB,         ACC,     "user.me",        AUTH_USER,     "self",        0,    ROUTE_SYNC},
    /* Accounts: the caller's own profile. */
    {"GET",    "/api/users/me",                 ROUTE_JOB,         ACC,     "user.me",        AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"PUT",    "/api/users/me",                 ROUTE_JOB,         ACC,     "user.update",    AUTH_USER,     "self",        0,    0},
    {"DELETE", "/api/users/me",                 ROUTE_JOB,         ACC,     "user.deactivate", AUTH_USER,    "self",        0,    0},
    {"GET",    "/api/users/me/preferences",     ROUTE_JOB,         ACC,     "user.preferences", AUTH_USER,   "self",        0,    ROUTE_SYNC},
    {"PUT",    "/api/users/me/preferences",     ROUTE_JOB,         ACC,     "user.set_preferences", AUTH_USER, "self",      0,    0},
    {"GET",    "/api/users/me/kyc",             ROUTE_JOB,         ACC,     "kyc.mine",       AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"POST",   "/api/users/me/kyc",             ROUTE_JOB,         ACC,     "kyc.submit",     AUTH_USER,     "self",        0,    0},
    {"GET",    "/api/addresses",                ROUTE_JOB,         ACC,     "address.list",   AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"POST",   "/api/addresses",                ROUTE_JOB,         ACC,     "address.create", AUTH_USER,     "self",        0,    0},
    {"GET",    "/api/addresses/:id",            ROUTE_JOB,         ACC,     "address.get",    AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"PUT",    "/api/addresses/:id",            ROUTE_JOB,         ACC,     "address.update", AUTH_USER,     "self",        0,    0},
    {"DELETE", "/api/addresses/:id",            ROUTE_JOB,         ACC,     "address.delete", AUTH_USER,     "self",        0,    0},
    {"PATCH",  "/api/addresses/:id/default",    ROUTE_JOB,         ACC,     "address.set_default", AUTH_USER, "self",       0,    0},
    /* Catalog: favourites (before /api/users/:id, which would take them). */
    {"GET",    "/api/users/favorites",          ROUTE_JOB,         CAT,     "favorite.list",  AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"POST",   "/api/users/favorites/:productId", ROUTE_JOB,       CAT,     "favorite.add",   AUTH_USER,     "self",        0,    0},
    {"DELETE", "/api/users/favorites/:productId", ROUTE_JOB,       CAT,     "favorite.remove", AUTH_USER,    "self",        0,    0},
    /* Accounts: administration (after /api/users/me, which :id would take). */
    {"GET",    "/api/users",                    ROUTE_JOB,         ACC,     "admin.user_list", AUTH_USER,    "users.read",  0,    ROUTE_SYNC},
    {"GET",    "/api/users/:id",                ROUTE_JOB,         ACC,     "admin.user_get", AUTH_USER,     "users.read",  0,    ROUTE_SYNC},
    {"PUT",    "/api/users/:id/status",         ROUTE_JOB,         ACC,     "admin.user_set_status", AUTH_USER, "users.status", 0, 0},
    {"PUT",    "/api/users/:id/role",           ROUTE_JOB,         ACC,     "admin.user_set_role", AUTH_USER, "users.role", 0,    0},
    {"GET",    "/api/admin/kyc",                ROUTE_JOB,         ACC,     "kyc.list",       AUTH_USER,     "kyc.review",  0,    ROUTE_SYNC},
    {"POST",   "/api/admin/kyc/:id/approve",    ROUTE_JOB,         ACC,     "kyc.approve",    AUTH_USER,     "kyc.review",  0,    0},
    {"POST",   "/api/admin/kyc/:id/reject",     ROUTE_JOB,         ACC,     "kyc.reject",     AUTH_USER,     "kyc.review",  0,    0},
    {"GET",    "/api/admin/audit-log",          ROUTE_JOB,         ACC,     "audit.list",     AUTH_USER,     "audit.read",  0,    ROUTE_SYNC},
    /* Analytics: CSV exports, recorded (they may outlast the wait: 202 and a
     * job with progress, then the download). */
    {"GET",    "/api/export/:file",             ROUTE_JOB,         ANA,     "export.run",     AUTH_USER,     "exports.read", 0,   ROUTE_DURABLE | ROUTE_CSV},
    {"GET",    "/api/exports/:id/download",     ROUTE_JOB,         ANA,     "export.get",     AUTH_USER,     "exports.read", 0,   ROUTE_CSV},
    /* Notifications: partners' webhooks. */
    {"POST",   "/api/admin/webhooks",           ROUTE_JOB,         NOT,     "partner_webhook.create", AUTH_USER, "webhooks.manage", 0, 0},
    {"GET",    "/api/admin/webhooks",           ROUTE_JOB,         NOT,     "partner_webhook.list", AUTH_USER, "webhooks.manage", 0, ROUTE_SYNC},
    {"DELETE", "/api/admin/webhooks/:id",       ROUTE_JOB,         NOT,     "partner_webhook.delete", AUTH_USER, "webhooks.manage", 0, 0},
    {"GET",    "/api/admin/webhooks/:id/deliveries", ROUTE_JOB,    NOT,     "partner_webhook.deliveries", AUTH_USER, "webhooks.manage", 0, ROUTE_SYNC},
    {"GET",    "/api/admin/schedules",          ROUTE_JOB,         ANA,     "schedule.list",  AUTH_USER,     "schedules.read", 0,  ROUTE_SYNC},
    /* Catalog: public reads; /tree before /:slug, which would take it. */
    {"GET",    "/api/categories",               ROUTE_JOB,         CAT,     "category.list",  AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/categories/tree",          ROUTE_JOB,         CAT,     "category.tree",  AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/categories/:slug",         ROUTE_JOB,         CAT,     "category.get",   AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"POST",   "/api/categories",               ROUTE_JOB,         CAT,     "category.create", AUTH_USER,    "catalog.manage", 0, 0},
    {"PUT",    "/api/categories/:id",           ROUTE_JOB,         CAT,     "category.update", AUTH_USER,    "catalog.manage", 0, 0},
    {"DELETE", "/api/categories/:id",           ROUTE_JOB,         CAT,     "category.delete", AUTH_USER,    "catalog.manage", 0, 0},
    /* Catalog: stores; /nearby before /:id. */
    {"GET",    "/api/stores",                   ROUTE_JOB,         CAT,     "store.list",     AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/stores/nearby",            ROUTE_JOB,         CAT,     "store.nearby",   AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/stores/:id",               ROUTE_JOB,         CAT,     "store.get",      AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/stores/:id/products",      ROUTE_JOB,         CAT,     "product.list",   AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"POST",   "/api/stores",                   ROUTE_JOB,         CAT,     "store.create",   AUTH_USER,     "catalog.sell", 0,   0},
    {"PUT",    "/api/stores/:id",               ROUTE_JOB,         CAT,     "store.update",   AUTH_USER,     "catalog.sell", 0,   0},
    /* Catalog: products (reads cached) and their stock. */
    {"GET",    "/api/products",                 ROUTE_JOB,         CAT,     "product.list",   AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"GET",    "/api/products/:id",             ROUTE_JOB,         CAT,     "product.get",    AUTH_NONE,     NULL,          0,    ROUTE_SYNC},
    {"POST",   "/api/products",                 ROUTE_JOB,         CAT,     "product.create", AUTH_USER,     "catalog.sell", 0,   0},
    {"PUT",    "/api/products/:id",             ROUTE_JOB,         CAT,     "product.update", AUTH_USER,     "catalog.sell", 0,   0},
    {"DELETE", "/api/products/:id",             ROUTE_JOB,         CAT,     "product.delete", AUTH_USER,     "catalog.sell", 0,   0},
    {"PATCH",  "/api/products/:id/stock",       ROUTE_JOB,         CAT,     "stock.adjust",   AUTH_USER,     "catalog.sell", 0,   0},
    {"PATCH",  "/api/inventory/bulk-update",    ROUTE_JOB,         CAT,     "stock.bulk_update", AUTH_USER,  "catalog.sell", 0,   0},
    {"GET",    "/api/inventory/low-stock",      ROUTE_JOB,         CAT,     "stock.low",      AUTH_USER,     "catalog.sell", 0,   ROUTE_SYNC},
    {"GET",    "/api/inventory/out-of-stock",   ROUTE_JOB,         CAT,     "stock.out",      AUTH_USER,     "catalog.sell", 0,   ROUTE_SYNC},
    {"GET",    "/api/inventory/history",        ROUTE_JOB,         CAT,     "stock.history",  AUTH_USER,     "catalog.sell", 0,   ROUTE_SYNC},
    {"GET",    "/api/inventory/report",         ROUTE_JOB,         CAT,     "stock.report",   AUTH_USER,     "catalog.sell", 0,   ROUTE_SYNC},
    /* Catalog: back-in-stock requests; literal paths before /:productId. */
    {"GET",    "/api/notify-me/my-subscriptions", ROUTE_JOB,       CAT,     "notify.mine",    AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"GET",    "/api/notify-me/stats",          ROUTE_JOB,         CAT,     "notify.stats",   AUTH_USER,     "catalog.sell", 0,   ROUTE_SYNC},
    {"GET",    "/api/notify-me/check/:productId", ROUTE_JOB,       CAT,     "notify.check",   AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"GET",    "/api/notify-me/product/:productId/requests", ROUTE_JOB, CAT, "notify.product_requests", AUTH_USER, "catalog.sell", 0, ROUTE_SYNC},
    {"POST",   "/api/notify-me/:productId",     ROUTE_JOB,         CAT,     "notify.subscribe", AUTH_USER,   "self",        0,    0},
    {"DELETE", "/api/notify-me/:productId",     ROUTE_JOB,         CAT,     "notify.unsubscribe", AUTH_USER, "self",        0,    0},
    /* Catalog: listings. Reads take an optional token: owners and reviewers
     * see more. No literal path competes with /api/listings/:id. */
    {"GET",    "/api/listings",                 ROUTE_JOB,         CAT,     "listing.list",   AUTH_OPTIONAL, NULL,          0,    ROUTE_SYNC},
    {"POST",   "/api/listings",                 ROUTE_JOB,         CAT,     "listing.create", AUTH_USER,     "self",        0,    0},
    {"GET",    "/api/listings/:id",             ROUTE_JOB,         CAT,     "listing.get",    AUTH_OPTIONAL, NULL,          0,    ROUTE_SYNC},
    {"PUT",    "/api/listings/:id",             ROUTE_JOB,         CAT,     "listing.update", AUTH_USER,     "self",        0,    0},
    {"DELETE", "/api/listings/:id",             ROUTE_JOB,         CAT,     "listing.delete", AUTH_USER,     "self",        0,    0},
    {"POST",   "/api/listings/:id/review",      ROUTE_JOB,         CAT,     "listing.review", AUTH_USER,     "listings.review", 0, 0},
    {"POST",   "/api/listings/:id/sold",        ROUTE_JOB,         CAT,     "listing.sold",   AUTH_USER,     "self",        0,    0},
    {"POST",   "/api/listings/:id/boost",       ROUTE_JOB,         CAT,     "listing.boost",  AUTH_USER,     "self",        0,    0},
    {"GET",    "/api/boost-plans",              ROUTE_JOB,         CAT,     "boost_plan.list", AUTH_NONE,    NULL,          0,    ROUTE_SYNC},
    {"POST",   "/api/admin/listings/expire",    ROUTE_JOB,         CAT,     "listing.expire", AUTH_USER,     "catalog.manage", 0, 0},
    {"POST",   "/api/admin/listings/remind-expiring", ROUTE_JOB,   CAT,     "listing.remind_expiring", AUTH_USER, "catalog.manage", 0, 0},
    /* Orders: the caller's cart. */
    {"GET",    "/api/cart",                     ROUTE_JOB,         ORD,     "cart.get",       AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"DELETE", "/api/cart",                     ROUTE_JOB,         ORD,     "cart.clear",     AUTH_USER,     "self",        0,    0},
    {"POST",   "/api/cart/items",               ROUTE_JOB,         ORD,     "cart.add_item",  AUTH_USER,     "self",        0,    0},
    {"PUT",    "/api/cart/items/:id",           ROUTE_JOB,         ORD,     "cart.update_item", AUTH_USER,   "self",        0,    0},
    {"DELETE", "/api/cart/items/:id",           ROUTE_JOB,         ORD,     "cart.remove_item", AUTH_USER,   "self",        0,    0},
    {"POST",   "/api/cart/validate",            ROUTE_JOB,         ORD,     "cart.validate",  AUTH_USER,     "self",        0,    ROUTE_SYNC | ROUTE_TRANSIENT},
    {"DELETE", "/api/cart/promotions",          ROUTE_JOB,         ORD,     "cart.detach_promotions", AUTH_USER, "self",    0,    0},
    /* Orders: promotions; the customer's two routes before /:id. */
    {"POST",   "/api/promotions/preview",       ROUTE_JOB,         ORD,     "promotion.preview", AUTH_USER,  "self",        0,    ROUTE_SYNC | ROUTE_TRANSIENT},
    {"POST",   "/api/promotions/apply",         ROUTE_JOB,         ORD,     "promotion.apply", AUTH_USER,    "self",        0,    0},
    {"GET",    "/api/promotions",               ROUTE_JOB,         ORD,     "promotion.list", AUTH_USER,     "promotions.manage", 0, ROUTE_SYNC},
    {"POST",   "/api/promotions",               ROUTE_JOB,         ORD,     "promotion.create", AUTH_USER,   "promotions.manage", 0, 0},
    {"GET",    "/api/promotions/:id",           ROUTE_JOB,         ORD,     "promotion.get",  AUTH_USER,     "promotions.manage", 0, ROUTE_SYNC},
    {"PUT",    "/api/promotions/:id",           ROUTE_JOB,         ORD,     "promotion.update", AUTH_USER,   "promotions.manage", 0, 0},
    {"DELETE", "/api/promotions/:id",           ROUTE_JOB,         ORD,     "promotion.delete", AUTH_USER,   "promotions.manage", 0, 0},
    /* Orders: checkout and the order workflow; /stats before /:id. */
    {"POST",   "/api/orders",                   ROUTE_JOB,         ORD,     "order.create",   AUTH_USER,     "self",        0,    0},
    {"GET",    "/api/orders",                   ROUTE_JOB,         ORD,     "order.list",     AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"GET",    "/api/orders/stats",             ROUTE_JOB,         ORD,     "order.stats",    AUTH_USER,     "orders.manage", 0,  ROUTE_SYNC},
    {"GET",    "/api/orders/:id",               ROUTE_JOB,         ORD,     "order.get",      AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"PUT",    "/api/orders/:id/status",        ROUTE_JOB,         ORD,     "order.set_status", AUTH_USER,   "orders.manage", 0,  0},
    {"POST",   "/api/orders/:id/cancel",        ROUTE_JOB,         ORD,     "order.cancel",   AUTH_USER,     "self",        0,    0},
    {"POST",   "/api/admin/orders/expire-unpaid", ROUTE_JOB,       ORD,     "order.expire_unpaid", AUTH_USER, "orders.admin", 0,   0},
    /* Orders: delivery routes and the orders they carry. */
    {"GET",    "/api/delivery/routes",          ROUTE_JOB,         ORD,     "delivery.route_list", AUTH_USER, "delivery.manage", 0, ROUTE_SYNC},
    {"POST",   "/api/delivery/routes",          ROUTE_JOB,         ORD,     "delivery.route_create", AUTH_USER, "delivery.manage", 0, 0},
    {"GET",    "/api/delivery/routes/:id",      ROUTE_JOB,         ORD,     "delivery.route_get", AUTH_USER, "delivery.manage", 0, ROUTE_SYNC},
    {"PUT",    "/api/delivery/routes/:id",      ROUTE_JOB,         ORD,     "delivery.route_update", AUTH_USER, "delivery.manage", 0, 0},
    {"DELETE", "/api/delivery/routes/:id",      ROUTE_JOB,         ORD,     "delivery.route_delete", AUTH_USER, "delivery.manage", 0, 0},
    {"PATCH",  "/api/delivery/routes/:id/orders", ROUTE_JOB,       ORD,     "delivery.route_assign", AUTH_USER, "delivery.manage", 0, 0},
    /* Payments: the caller's wallet; adjustments by finance staff. */
    {"GET",    "/api/wallet",                   ROUTE_JOB,         PAY,     "wallet.get",     AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"GET",    "/api/wallet/transactions",      ROUTE_JOB,         PAY,     "wallet.transactions", AUTH_USER, "self",       0,    ROUTE_SYNC},
    {"GET",    "/api/wallet/stats",             ROUTE_JOB,         PAY,     "wallet.stats",   AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"POST",   "/api/admin/wallets/:user_id/adjust", ROUTE_JOB,    PAY,     "wallet.adjust",  AUTH_USER,     "wallets.adjust", 0,  0},
    /* Payments: withdrawals; /all before /:id. */
    {"POST",   "/api/wallet/withdraw",          ROUTE_JOB,         PAY,     "payout.request", AUTH_USER,     "self",        0,    0},
    {"POST",   "/api/payouts/request",          ROUTE_JOB,         PAY,     "payout.request", AUTH_USER,     "self",        0,    0},
    {"GET",    "/api/payouts",                  ROUTE_JOB,         PAY,     "payout.list",    AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"GET",    "/api/payouts/all",              ROUTE_JOB,         PAY,     "payout.list_all", AUTH_USER,    "payouts.manage", 0,  ROUTE_SYNC},
    {"POST",   "/api/payouts/:id/cancel",       ROUTE_JOB,         PAY,     "payout.cancel",  AUTH_USER,     "self",        0,    0},
    {"POST",   "/api/payouts/:id/reject",       ROUTE_JOB,         PAY,     "payout.reject",  AUTH_USER,     "payouts.manage", 0,  0},
    {"POST",   "/api/payouts/:id/process",      ROUTE_JOB,         PAY,     "payout.process", AUTH_USER,     "payouts.manage", 0,  0},
    /* Payments: through Razorpay; the webhook is signed, not authenticated. */
    {"POST",   "/api/payments/order",           ROUTE_JOB,         PAY,     "payment.create_order", AUTH_USER, "self",      0,    0},
    {"POST",   "/api/payments/verify",          ROUTE_JOB,         PAY,     "payment.verify", AUTH_USER,     "self",        0,    0},
    /* Razorpay waits 5 s: a slow pool answers 504 before that, so the event
     * (recorded, and done once) is sent again rather than timed out. */
    {"POST",   "/api/payments/webhook",         ROUTE_JOB,         PAY,     "payment.webhook", AUTH_NONE,    NULL,          4000, ROUTE_SYNC | ROUTE_RAW},
    {"POST",   "/api/payments/test/pay",        ROUTE_JOB,         PAY,     "payment.test_pay", AUTH_USER,   "self",        0,    0},
    {"POST",   "/api/payments/refund",          ROUTE_JOB,         PAY,     "payment.refund", AUTH_USER,     "payments.refund", 0, 0},
    {"GET",    "/api/payments/refunds",         ROUTE_JOB,         PAY,     "payment.refund_list", AUTH_USER, "payments.refund", 0, ROUTE_SYNC},
    {"GET",    "/api/payments/refunds/:id",     ROUTE_JOB,         PAY,     "payment.refund_get", AUTH_USER, "payments.refund", 0, ROUTE_SYNC},
    {"POST",   "/api/payments/refunds/:id/send", ROUTE_JOB,        PAY,     "payment.refund_send", AUTH_USER, "payments.refund", 0, 0},
    /* Payments: reconciliation with Razorpay and the ledger's invariants. */
    {"POST",   "/api/admin/reconciliation",     ROUTE_JOB,         PAY,     "payment.reconcile", AUTH_USER,  "payments.reconcile", 0, 0},
    {"GET",    "/api/admin/reconciliation",     ROUTE_JOB,         PAY,     "reconciliation.list", AUTH_USER, "payments.reconcile", 0, ROUTE_SYNC},
    {"GET",    "/api/admin/reconciliation/:id", ROUTE_JOB,         PAY,     "reconciliation.get", AUTH_USER, "payments.reconcile", 0, ROUTE_SYNC},
    {"GET",    "/api/admin/ledger/check",       ROUTE_JOB,         PAY,     "ledger.check",   AUTH_USER,     "payments.reconcile", 0, ROUTE_SYNC},
    /* Payments: merchant settlements. */
    {"GET",    "/api/settlements",              ROUTE_JOB,         PAY,     "settlement.list", AUTH_USER,    "self",        0,    ROUTE_SYNC},
    {"POST",   "/api/settlements",              ROUTE_JOB,         PAY,     "settlement.create", AUTH_USER,  "settlements.manage", 0, 0},
    {"GET",    "/api/settlements/:id",          ROUTE_JOB,         PAY,     "settlement.get", AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"PATCH",  "/api/settlements/:id/status",   ROUTE_JOB,         PAY,     "settlement.set_status", AUTH_USER, "settlements.manage", 0, 0},
    {"PUT",    "/api/stores/:id/commission",    ROUTE_JOB,         PAY,     "store.set_commission", AUTH_USER, "settlements.manage", 0, 0},
    /* Analytics: events from the apps (with or without a token), dashboards. */
    {"POST",   "/api/analytics/event",          ROUTE_JOB,         ANA,     "analytics.ingest", AUTH_OPTIONAL, NULL,        0,    ROUTE_ASYNC},
    {"GET",    "/api/analytics/dashboard",      ROUTE_JOB,         ANA,     "analytics.dashboard", AUTH_USER, "analytics.read", 0, ROUTE_SYNC},
    {"GET",    "/api/analytics/sales",          ROUTE_JOB,         ANA,     "analytics.sales", AUTH_USER,    "analytics.read", 0, ROUTE_SYNC},
    {"GET",    "/api/analytics/revenue",        ROUTE_JOB,         ANA,     "analytics.revenue", AUTH_USER,  "analytics.read", 0, ROUTE_SYNC},
    {"GET",    "/api/analytics/users",          ROUTE_JOB,         ANA,     "analytics.users", AUTH_USER,    "analytics.read", 0, ROUTE_SYNC},
    {"GET",    "/api/analytics/products",       ROUTE_JOB,         ANA,     "analytics.products", AUTH_USER, "analytics.read", 0, ROUTE_SYNC},
    {"GET",    "/api/analytics/notify-requests", ROUTE_JOB,        ANA,     "analytics.notify_requests", AUTH_USER, "analytics.read", 0, ROUTE_SYNC},
    {"POST",   "/api/admin/analytics/snapshot", ROUTE_JOB,         ANA,     "analytics.snapshot", AUTH_USER, "analytics.manage", 0, 0},
    /* Notifications: the caller's inbox and devices, announcements, and
     * the admins' send-outs (durable jobs that report progress). */
    {"GET",    "/api/notifications",            ROUTE_JOB,         NOT,     "notify.list",    AUTH_USER,     "self",        0,    ROUTE_SYNC},
    {"PUT",    "/api/notifications/read-all",   ROUTE_JOB,         NOT,     "notify.read_all", AUTH_USER,    "self",        0,    0},
    {"PUT",    "/api/notifications/:id/read",   ROUTE_JOB,         NOT,     "notify.read",    AUTH_USER,     "self",        0,    0},
    {"POST",   "/api/notifications/register-token", ROUTE_JOB,     NOT,     "notify.register_token", AUTH_USER, "self",     0,    0},
    {"POST",   "/api/notifications/unregister-token", ROUTE_JOB,   NOT,     "notify.unregister_token", AUTH_USER, "self",   0,    0},
    {"POST",   "/api/notifications/send-to-user", ROUTE_JOB,       NOT,     "notify.send_to_user", AUTH_USER, "notifications.send", 0, 0},
    {"POST",   "/api/notifications/send-to-admins", ROUTE_JOB,     NOT,     "notify.send_to_admins", AUTH_USER, "notifications.send", 0, 0},
    {"POST",   "/api/notifications/send-to-zone", ROUTE_JOB,       NOT,     "notify.send_to_zone", AUTH_USER, "notifications.send", 0, 0},
    {"GET",    "/api/admin/notifications/failed", ROUTE_JOB,       NOT,     "notify.failed_list", AUTH_USER, "notifications.manage", 0, ROUTE_SYNC},
    {"POST",   "/api/admin/notifications/failed/:id/retry", ROUTE_JOB, NOT, "notify.failed_retry", AUTH_USER, "notifications.manage", 0, 0},
    {"GET",    "/api/announcements",            ROUTE_JOB,         NOT,     "announcement.list", AUTH_USER,  "self",        0,    ROUTE_SYNC},
    {"POST",   "/api/announcements",            ROUTE_JOB,         NOT,     "announcement.create", AUTH_USER, "announcements.manage", 0, 0},
    /* Test mode only: drive the runtime's hard cases through every pool. */
    {"GET",    "/api/_test/:pool/:type",        ROUTE_JOB,         ":pool", "test.:type",     AUTH_OPTIONAL, NULL,          0,    ROUTE_SYNC | ROUTE_TEST_ONLY},
    {"POST",   "/api/_test/:pool/:type",        ROUTE_JOB,         ":pool", "test.:type",     AUTH_OPTIONAL, NULL,          0,    ROUTE_TEST_ONLY},
    {"POST",   "/api/_test/private/:pool/:type", ROUTE_JOB,        ":pool", "test.:type",     AUTH_USER,     NULL,          0,    ROUTE_TEST_ONLY},
    {"POST",   "/api/_test/admin/:pool/:type",  ROUTE_JOB,         ":pool", "test.:type",     AUTH_USER,     "pools.read",  0,    ROUTE_TEST_ONLY},
};
/* clang-format on */

#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

const route_t *route_table(size_t *count)
{
    *count = ROUTE_COUNT;
    return routes;
}

/* Matches path against pattern, collecting parameters. A parameter matches
 * one non-empty segment. */
static int match_pattern(const char *pattern, const char *path, route_match_t *m)
{
    const char *p = pattern, *s = path;
    m->nparams = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen > 0 && *p == ':') {
            if (slen == 0 || m->nparams == ROUTE_MAX_PARAMS)
                return 0;
            m->params[m->nparams++] = (route_param_t){p + 1, plen - 1, s, slen};
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    return *p == '\0' && *s == '\0';
}

route_result_t route_match(const char *method, const char *path, int test_mode,
                           route_match_t *match, char *allow, size_t allow_cap)
{
    size_t allow_len = 0;
    if (allow_cap)
        allow[0] = '\0';
    int path_known = 0;
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        const route_t *r = &routes[i];
        if ((r->flags & ROUTE_TEST_ONLY) && !test_mode)
            continue;
        route_match_t m;
        if (!match_pattern(r->pattern, path, &m))
            continue;
        if (strcmp(r->method, method) == 0) {
            *match = m;
            match->route = r;
            match->index = (int)i;
            return ROUTE_FOUND;
        }
        /* Several rows may share a path; list each method once. */
        if (allow_len < allow_cap && !strstr(allow, r->method)) {
            int n = snprintf(allow + allow_len, allow_cap - allow_len, "%s%s",
                             path_known ? ", " : "", r->method);
            if (n > 0)
                allow_len += (size_t)n;
        }
        path_known = 1;
    }
    return path_known ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}

const char *route_param(const route_match_t *match, const char *name, size_t *len)
{
    size_t name_len = strlen(name);
    for (int i = 0; i < match->nparams; i++)
        if (match->params[i].name_len == name_len &&
            memcmp(match->params[i].name, name, name_len) == 0) {
            *len = match->params[i].value_len;
            return match->params[i].value;
        }
    return NULL;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int route_expand(const char *template, const route_match_t *match, char *out, size_t cap)
{
    const char *colon = strchr(template, ':');
    size_t prefix = colon ? (size_t)(colon - template) : strlen(template);
    const char *value = NULL;
    size_t value_len = 0;
    if (colon && !(value = route_param(match, colon + 1, &value_len)))
        return -1;
    if (prefix + value_len + 1 > cap)
        return -1;
    memcpy(out, template, prefix);
    if (value)
        memcpy(out + prefix, value, value_len);
    out[prefix + value_len] = '\0';
    for (size_t i = 0; out[i]; i++)
        if (!name_char(out[i]))
            return -1;
    return out[0] ? 0 : -1;
}
