"""
Listings (classifieds) through the whole stack: field checks, the moderation
flow, the owner's edits, deletion and sale, the public list with its filters,
pagination and boosted-first order, boosts, and expiry (by time in every
read, written down by the listing.expire job).

Listings share one database with every other test (and with the second,
sanitizer run of scripts/test): each test puts its listings in a city of its
own and reads back only those. Users are made with SQL and given tokens of
the role wanted. The catalog pool alone runs here, so a test activates a
boost with SQL as the payments pool does on capture
(test_boost_payments.py pays for boosts through Razorpay).
"""

import datetime
import unittest
import uuid

from harness import Client, Stack, StackTestCase, unique_email


MISSING = object()  # a field left out of a body


def parse_ts(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


class Listings(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"catalog": 1}, name="listings").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.city = "City-" + uuid.uuid4().hex[:10]
        self.seller, self.seller_token = self.new_user()
        self.mod, self.mod_token = self.new_user("MODERATOR")

    # ---- helpers -----------------------------------------------------------

    def new_user(self, role="USER"):
        """A user row and a token for it with role: (id, token)."""
        user_id = self.stack.psql(
            "WITH u AS (INSERT INTO users (email, name, role) VALUES ('%s', 'Listing Test', '%s') "
            "RETURNING id) SELECT id FROM u" % (unique_email(role.lower()), role))
        return user_id, self.stack.token(user_id, role)

    def create(self, token=None, **fields):
        body = {"title": "Used bicycle", "price_paise": 250000, "condition": "good",
                "city": self.city}
        body.update(fields)
        r = self.c.post("/api/listings", body, token=token or self.seller_token)
        self.assertEqual(r.status, 201, r)
        return r.data

    def review(self, listing_id, decision, reason=None, token=None):
        body = {"decision": decision}
        if reason is not None:
            body["reason"] = reason
        return self.c.post("/api/listings/%s/review" % listing_id, body,
                           token=token or self.mod_token)

    def approve(self, listing_id):
        r = self.review(listing_id, "approve")
        self.assertEqual((r.status, r.data["status"]), (200, "ACTIVE"), r)
        return r.data

    def active(self, token=None, **fields):
        return self.approve(self.create(token, **fields)["id"])

    def public_ids(self, query=""):
        r = self.c.get("/api/listings?city=%s%s" % (self.city, query))
        self.assertEqual(r.status, 200, r)
        return [item["id"] for item in r.data["items"]]

    def get(self, listing_id, token=None):
        return self.c.get("/api/listings/" + listing_id, token=token)

    def status_in_db(self, listing_id):
        return self.stack.psql("SELECT status FROM listings WHERE id = '%s'" % listing_id)

    def expire(self):
        r = self.c.post("/api/admin/listings/expire", token=self.stack.admin_token())
        self.assertEqual(r.status, 200, r)
        return r.data

    # ---- creating ------------------------------------------------------------

    def test_create_and_read(self):
        listing = self.create(title="Wooden study table", description="Teak.\nBarely used.",
                              price_paise=450000, condition="like_new", zone="pune-1",
                              images=["https://img.example.com/a.jpg", "http://img.example.com/b"])
        self.assertEqual(
            {k: listing[k] for k in ("owner_id", "title", "description", "price_paise",
                                     "currency", "condition", "images", "city", "zone", "status",
                                     "category_id", "rejection_reason", "reviewed_by",
                                     "expires_at", "boosted_until")},
            {"owner_id": self.seller, "title": "Wooden study table",
             "description": "Teak.\nBarely used.", "price_paise": 450000, "currency": "INR",
             "condition": "like_new",
             "images": ["https://img.example.com/a.jpg", "http://img.example.com/b"],
             "city": self.city, "zone": "pune-1", "status": "PENDING_REVIEW",
             "category_id": None, "rejection_reason": None, "reviewed_by": None,
             "expires_at": None, "boosted_until": None})
        # Not public until approved; the owner and reviewers see it.
        self.assertError(self.get(listing["id"]), 404, "LISTING_NOT_FOUND")
        other, other_token = self.new_user()
        self.assertError(self.get(listing["id"], other_token), 404, "LISTING_NOT_FOUND")
        for token in (self.seller_token, self.mod_token, self.stack.admin_token()):
            r = self.get(listing["id"], token)
            self.assertEqual((r.status, r.data), (200, listing), r)
        self.assertEqual(self.public_ids(), [])
        self.assertError(self.c.post("/api/listings", {"title": "x"}), 401, "AUTH_REQUIRED")

    def test_bad_input_by_field_writes_nothing(self):
        category = self.stack.psql(
            "WITH c AS (INSERT INTO categories (name, slug, is_active) VALUES ('Off', '%s', false) "
            "RETURNING id) SELECT id FROM c" % ("t" + uuid.uuid4().hex[:12]))
        good = {"title": "Old phone", "price_paise": 500000, "condition": "fair",
                "city": self.city}
        cases = [
            ({"title": MISSING}, "title"),
            ({"title": None}, "title"),
            ({"title": "ab"}, "title"),
            ({"title": "x" * 121}, "title"),
            ({"title": 12}, "title"),
            ({"title": "bad\u0001title"}, "title"),
            ({"price_paise": MISSING}, "price_paise"),
            ({"price_paise": None}, "price_paise"),
            ({"price_paise": 0}, "price_paise"),
            ({"price_paise": -5}, "price_paise"),
            ({"price_paise": "500"}, "price_paise"),
            ({"price_paise": 12.5}, "price_paise"),
            ({"price_paise": 10 ** 12}, "price_paise"),
            ({"condition": MISSING}, "condition"),
            ({"condition": "broken"}, "condition"),
            ({"condition": None}, "condition"),
            ({"city": MISSING}, "city"),
            ({"city": ""}, "city"),
            ({"city": "c" * 101}, "city"),
            ({"zone": "two words"}, "zone"),
            ({"zone": "z" * 25}, "zone"),
            ({"description": ""}, "description"),
            ({"description": "d" * 5001}, "description"),
            ({"description": "bell\u0007"}, "description"),
            ({"images": "https://a.example.com/x.jpg"}, "images"),
            ({"images": ["ftp://a.example.com/x.jpg"]}, "images"),
            ({"images": ["https://"]}, "images"),
            ({"images": ["https://a.example.com/a b.jpg"]}, "images"),
            ({"images": [7]}, "images"),
            ({"images": ["https://a.example.com/%d" % i for i in range(11)]}, "images"),
            ({"category_id": "books"}, "category_id"),
            ({"category_id": str(uuid.uuid4())}, "category_id"),
            ({"category_id": category}, "category_id"),
        ]
        for change, field in cases:
            body = {k: v for k, v in dict(good, **change).items() if v is not MISSING}
            r = self.c.post("/api/listings", body, token=self.seller_token)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        for body in ([good], "text"):
            r = self.c.post("/api/listings", body, token=self.seller_token)
            self.assertError(r, 400, "VALIDATION_ERROR", "body")
        self.assertEqual(self.stack.psql("SELECT count(*) FROM listings WHERE owner_id = '%s'"
                                         % self.seller), "0")
        # A token whose user does not exist owns nothing and makes nothing.
        ghost = self.stack.token(str(uuid.uuid4()), "USER")
        self.assertError(self.c.post("/api/listings", good, token=ghost), 404, "USER_NOT_FOUND")

    # ---- moderation ----------------------------------------------------------

    def test_moderation_flow(self):
        rejected = self.create(title="Gaming console")
        approved = self.create(title="Mountain bike")
        path = "/api/listings/%s/review"

        # Who may review: the front refuses roles without listings.review.
        for role in ("USER", "MERCHANT", "FINANCE", "LOCATION_ADMIN"):
            _, token = self.new_user(role)
            self.assertError(self.review(rejected["id"], "approve", token=token), 403, "FORBIDDEN")
        self.assertError(self.c.post(path % rejected["id"], {"decision": "approve"}), 401,
                         "AUTH_REQUIRED")

        # Field checks come first and change nothing.
        self.assertError(self.review(rejected["id"], "reject"), 400, "VALIDATION_ERROR", "reason")
        self.assertError(self.review(rejected["id"], "reject", reason=""), 400,
                         "VALIDATION_ERROR", "reason")
        self.assertError(self.review(rejected["id"], "maybe"), 400, "VALIDATION_ERROR", "decision")
        self.assertError(self.c.post(path % rejected["id"], {}, token=self.mod_token), 400,
                         "VALIDATION_ERROR", "decision")
        self.assertError(self.review("nope", "approve"), 400, "VALIDATION_ERROR", "id")
        self.assertError(self.review(str(uuid.uuid4()), "approve"), 404, "LISTING_NOT_FOUND")
        self.assertEqual(self.status_in_db(rejected["id"]), "PENDING_REVIEW")

        # Reject with a reason.
        r = self.review(rejected["id"], "reject", reason="Photos do not show the item")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["status"], r.data["rejection_reason"], r.data["reviewed_by"],
                          r.data["expires_at"]),
                         ("REJECTED", "Photos do not show the item", self.mod, None))
        self.assertIsNotNone(r.data["reviewed_at"])

        # Approve: ACTIVE for 30 days, public.
        before = datetime.datetime.now(datetime.timezone.utc)
        r = self.review(approved["id"], "approve", token=self.stack.token(self.mod, "MODERATOR"))
        self.assertEqual((r.status, r.data["status"], r.data["rejection_reason"]),
                         (200, "ACTIVE", None), r)
        life = parse_ts(r.data["expires_at"]) - before
        self.assertTrue(datetime.timedelta(days=30) - datetime.timedelta(minutes=1) < life <
                        datetime.timedelta(days=30, minutes=1), life)
        self.assertEqual(self.get(approved["id"]).data["status"], "ACTIVE")
        self.assertEqual(self.public_ids(), [approved["id"]])

        # A second review of either is a conflict.
        for listing_id, status in ((rejected["id"], "REJECTED"), (approved["id"], "ACTIVE")):
            for decision, reason in (("approve", None), ("reject", "again")):
                r = self.review(listing_id, decision, reason)
                self.assertError(r, 409, "LISTING_NOT_PENDING_REVIEW")
                self.assertEqual(r.error["details"], {"status": status})
        self.assertEqual(self.get(rejected["id"], self.seller_token).data["status"], "REJECTED")

        # Decisions are audited.
        audit = self.stack.psql(
            "SELECT action || ' ' || actor_id || ' ' || (after->>'status') FROM audit_log "
            "WHERE target_type = 'listing' AND target_id IN ('%s', '%s') ORDER BY id"
            % (rejected["id"], approved["id"]))
        self.assertEqual(audit.splitlines(), ["listing.reject %s REJECTED" % self.mod,
                                              "listing.approve %s ACTIVE" % self.mod])

        # ... and recorded as events for the owner, exactly one each (the
        # refused second reviews left none).
        events = self.stack.psql(
            "SELECT topic FROM outbox WHERE topic LIKE 'listing.%%' AND (position("
            "convert_to('%s', 'UTF8') IN body) > 0 OR position(convert_to('%s', 'UTF8') IN body) "
            "> 0) ORDER BY id" % (rejected["id"], approved["id"]))
        self.assertEqual(events.splitlines(), ["listing.rejected", "listing.approved"])

    def test_nobody_reviews_their_own_listing(self):
        for role in ("MODERATOR", "ADMIN", "SUPER_ADMIN"):
            user_id, token = self.new_user(role)
            listing = self.create(token)
            r = self.review(listing["id"], "approve", token=token)
            self.assertError(r, 403, "CANNOT_REVIEW_SELF")
            self.assertEqual(self.status_in_db(listing["id"]), "PENDING_REVIEW")
            # Another reviewer may.
            self.approve(listing["id"])

    # ---- the owner's changes ---------------------------------------------------

    def test_only_the_owner_changes_a_listing(self):
        listing = self.active(title="Sofa set", description="Three seats")
        other, other_token = self.new_user()
        path = "/api/listings/" + listing["id"]
        # Another user, a moderator and an admin alike: as if it did not exist.
        for token in (other_token, self.mod_token, self.stack.admin_token()):
            self.assertError(self.c.put(path, {"title": "Mine now"}, token=token), 404,
                             "LISTING_NOT_FOUND")
            self.assertError(self.c.delete(path, token=token), 404, "LISTING_NOT_FOUND")
            self.assertError(self.c.post(path + "/sold", token=token), 404, "LISTING_NOT_FOUND")
            self.assertError(self.c.post(path + "/boost", {"plan_id": self.plans()[0]["id"]},
                                         token=token), 404, "LISTING_NOT_FOUND")
        self.assertError(self.c.put(path, {"title": "x" * 5}), 401, "AUTH_REQUIRED")
        r = self.get(listing["id"])
        self.assertEqual((r.data["title"], r.data["status"]), ("Sofa set", "ACTIVE"))
        self.assertEqual(self.stack.psql("SELECT count(*) FROM listing_boosts "
                                         "WHERE listing_id = '%s'" % listing["id"]), "0")

    def test_edit_sends_the_listing_back_to_review(self):
        listing = self.active(title="Washing machine", description="Front load", zone="blr-1",
                              images=["https://img.example.com/w.jpg"])
        path = "/api/listings/" + listing["id"]
        # Bad edits change nothing.
        for body, field in (({}, "body"), ({"title": None}, "title"),
                            ({"price_paise": None}, "price_paise"), ({"city": None}, "city"),
                            ({"condition": None}, "condition"), ({"price_paise": 0}, "price_paise"),
                            ({"images": [1]}, "images")):
            r = self.c.put(path, body, token=self.seller_token)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertEqual(self.get(listing["id"]).data, listing)

        # A partial edit: what is sent changes, null clears the optional fields.
        r = self.c.put(path, {"price_paise": 900000, "description": None, "zone": None,
                              "images": None}, token=self.seller_token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual({k: r.data[k] for k in ("title", "price_paise", "description", "zone",
                                                 "images", "city", "status", "expires_at")},
                         {"title": "Washing machine", "price_paise": 900000, "description": None,
                          "zone": None, "images": [], "city": self.city,
                          "status": "PENDING_REVIEW", "expires_at": None})
        self.assertEqual(self.public_ids(), [])
        self.assertError(self.get(listing["id"]), 404, "LISTING_NOT_FOUND")

        # Editing while pending stays pending; a rejected listing goes back too.
        r = self.c.put(path, {"title": "Washing machine 7kg"}, token=self.seller_token)
        self.assertEqual((r.status, r.data["status"]), (200, "PENDING_REVIEW"), r)
        self.assertEqual(self.review(listing["id"], "reject", "Say the brand").status, 200)
        r = self.c.put(path, {"title": "LG washing machine 7kg"}, token=self.seller_token)
        self.assertEqual((r.status, r.data["status"], r.data["rejection_reason"]),
                         (200, "PENDING_REVIEW", "Say the brand"), r)
        r = self.approve(listing["id"])
        self.assertEqual((r["title"], r["rejection_reason"]), ("LG washing machine 7kg", None))
        self.assertEqual(self.public_ids(), [listing["id"]])

    def test_sold_and_delete(self):
        listing = self.create(title="Guitar")
        path = "/api/listings/" + listing["id"]
        r = self.c.post(path + "/sold", token=self.seller_token)
        self.assertError(r, 409, "LISTING_NOT_ACTIVE")
        self.assertEqual(r.error["details"], {"status": "PENDING_REVIEW"})
        self.approve(listing["id"])
        r = self.c.post(path + "/sold", token=self.seller_token)
        self.assertEqual((r.status, r.data["status"]), (200, "SOLD"), r)
        self.assertEqual(self.public_ids(), [])
        self.assertError(self.get(listing["id"]), 404, "LISTING_NOT_FOUND")
        self.assertError(self.c.post(path + "/sold", token=self.seller_token), 409,
                         "LISTING_NOT_ACTIVE")
        r = self.c.put(path, {"title": "Acoustic guitar"}, token=self.seller_token)
        self.assertError(r, 409, "LISTING_NOT_EDITABLE")
        self.assertEqual(r.error["details"], {"status": "SOLD"})

        r = self.c.delete(path, token=self.seller_token)
        self.assertEqual((r.status, r.data), (200, {"id": listing["id"], "deleted": True}), r)
        self.assertEqual(self.status_in_db(listing["id"]), "DELETED")
        self.assertEqual(self.get(listing["id"], self.seller_token).data["status"], "DELETED")
        self.assertError(self.c.delete(path, token=self.seller_token), 409, "LISTING_DELETED")
        self.assertError(self.c.put(path, {"title": "Back"}, token=self.seller_token), 409,
                         "LISTING_NOT_EDITABLE")
        self.assertError(self.review(listing["id"], "approve"), 409, "LISTING_NOT_PENDING_REVIEW")

        # A listing still waiting for review can be deleted too.
        pending = self.create(title="Lamp")
        r = self.c.delete("/api/listings/" + pending["id"], token=self.seller_token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.status_in_db(pending["id"]), "DELETED")

    def test_deleting_a_category_leaves_its_listings_without_one(self):
        category = self.stack.psql(
            "WITH c AS (INSERT INTO categories (name, slug) VALUES ('Toys', '%s') RETURNING id) "
            "SELECT id FROM c" % ("t" + uuid.uuid4().hex[:12]))
        listing = self.active(title="Toy train", category_id=category)
        self.assertEqual(listing["category_id"], category)
        r = self.c.delete("/api/categories/" + category, token=self.stack.admin_token())
        self.assertEqual(r.status, 200, r)
        r = self.get(listing["id"])
        self.assertEqual((r.data["category_id"], r.data["status"]), (None, "ACTIVE"))

    # ---- the list ----------------------------------------------------------------

    def test_list_filters_and_pagination(self):
        slug = "t" + uuid.uuid4().hex[:12]
        parent = self.stack.psql("WITH c AS (INSERT INTO categories (name, slug) VALUES "
                                 "('Furniture', '%s') RETURNING id) SELECT id FROM c" % slug)
        child = self.stack.psql("WITH c AS (INSERT INTO categories (name, slug, parent_id) "
                                "VALUES ('Chairs', '%s-chairs', '%s') RETURNING id) "
                                "SELECT id FROM c" % (slug, parent))
        a = self.active(title="Oak dining table", price_paise=800000, zone="east",
                        category_id=parent)
        b = self.active(title="Office chair", price_paise=300000, zone="east", category_id=child)
        c = self.active(title="100% cotton kurta", price_paise=50000, zone="west")
        d = self.active(title="Cotton_saree", price_paise=120000, zone="west")
        pending = self.create(title="Pending chair", price_paise=300000)
        newest_first = [d["id"], c["id"], b["id"], a["id"]]

        self.assertEqual(self.public_ids(), newest_first)
        self.assertEqual(self.public_ids("&category=" + parent), [b["id"], a["id"]])
        self.assertEqual(self.public_ids("&category=" + child), [b["id"]])
        self.assertEqual(self.public_ids("&zone=west"), [d["id"], c["id"]])
        self.assertEqual(self.public_ids("&min_price=120000"), [d["id"], b["id"], a["id"]])
        self.assertEqual(self.public_ids("&max_price=300000"), [d["id"], c["id"], b["id"]])
        self.assertEqual(self.public_ids("&min_price=120000&max_price=300000"),
                         [d["id"], b["id"]])
        self.assertEqual(self.public_ids("&q=CHAIR"), [b["id"]])
        self.assertEqual(self.public_ids("&q=cotton"), [d["id"], c["id"]])
        # LIKE's wildcards are plain characters.
        self.assertEqual(self.public_ids("&q=%25"), [c["id"]])
        self.assertEqual(self.public_ids("&q=n_s"), [d["id"]])
        self.assertEqual(self.public_ids("&q=o%25c"), [])
        # The city matches whatever its case.
        r = self.c.get("/api/listings?city=" + self.city.upper())
        self.assertEqual([i["id"] for i in r.data["items"]], newest_first)

        # Pages.
        r = self.c.get("/api/listings?city=%s&limit=3&page=2" % self.city)
        self.assertEqual((r.status, [i["id"] for i in r.data["items"]], r.data["pagination"]),
                         (200, [a["id"]], {"page": 2, "limit": 3, "total": 4, "pages": 2}), r)
        r = self.c.get("/api/listings?city=%s&limit=3" % self.city)
        self.assertEqual(([i["id"] for i in r.data["items"]], r.data["pagination"]),
                         (newest_first[:3], {"page": 1, "limit": 3, "total": 4, "pages": 2}))
        r = self.c.get("/api/listings?city=%s&page=3&limit=3" % self.city)
        self.assertEqual((r.data["items"], r.data["pagination"]["total"]), ([], 4))

        # The owner's own list: every status, with an optional status filter.
        self.assertEqual(self.c.post("/api/listings/%s/sold" % a["id"],
                                     token=self.seller_token).status, 200)
        r = self.c.get("/api/listings?mine=true&city=" + self.city, token=self.seller_token)
        self.assertEqual([(i["id"], i["status"]) for i in r.data["items"]],
                         [(pending["id"], "PENDING_REVIEW"), (d["id"], "ACTIVE"),
                          (c["id"], "ACTIVE"), (b["id"], "ACTIVE"), (a["id"], "SOLD")])
        r = self.c.get("/api/listings?mine=true&status=SOLD", token=self.seller_token)
        self.assertEqual([i["id"] for i in r.data["items"]], [a["id"]])
        _, other_token = self.new_user()
        r = self.c.get("/api/listings?mine=true", token=other_token)
        self.assertEqual((r.data["items"], r.data["pagination"]["total"]), ([], 0))
        # mine=false is the public list, with a token or without.
        r = self.c.get("/api/listings?mine=false&city=" + self.city, token=self.seller_token)
        self.assertEqual([i["id"] for i in r.data["items"]], [d["id"], c["id"], b["id"]])

        # Bad parameters.
        for query, field in (("limit=101", "limit"), ("limit=0", "limit"), ("page=0", "page"),
                             ("min_price=abc", "min_price"), ("max_price=-1", "max_price"),
                             ("min_price=500&max_price=100", "max_price"),
                             ("category=chairs", "category"), ("zone=a%20b", "zone"),
                             ("mine=yes", "mine"), ("status=SOLD", "status"),
                             ("mine=true&status=GONE", "status"), ("q=" + "q" * 101, "q")):
            r = self.c.get("/api/listings?" + query, token=self.seller_token)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertError(self.c.get("/api/listings?mine=true"), 401, "AUTH_REQUIRED")
        self.assertError(self.c.get("/api/listings", token="not-a-token"), 401,
                         "TOKEN_MALFORMED")

    def test_boosted_listings_come_first(self):
        old = self.active(title="Old boosted fridge")
        lapsed = self.active(title="Lapsed boost cooler")
        new = self.active(title="New fan")
        self.assertEqual(self.public_ids(), [new["id"], lapsed["id"], old["id"]])
        plan = self.plans()[0]
        # Active boosts as the payments pool writes them: one running,
        # one whose end has passed (the expiry job has not run).
        self.stack.psql(
            "INSERT INTO listing_boosts (listing_id, plan_id, user_id, status, amount_paise, "
            "duration_days, starts_at, ends_at) VALUES "
            "('%s', '%s', '%s', 'active', 4900, 3, now() - interval '1 day', now() + interval '2 days'), "
            "('%s', '%s', '%s', 'active', 4900, 3, now() - interval '3 days', now() - interval '1 minute')"
            % (old["id"], plan["id"], self.seller, lapsed["id"], plan["id"], self.seller))
        r = self.c.get("/api/listings?city=" + self.city)
        self.assertEqual([i["id"] for i in r.data["items"]], [old["id"], new["id"], lapsed["id"]])
        self.assertIsNotNone(r.data["items"][0]["boosted_until"])
        self.assertEqual([i["boosted_until"] for i in r.data["items"][1:]], [None, None])
        # Boosted first on every page.
        r = self.c.get("/api/listings?limit=1&city=" + self.city)
        self.assertEqual([i["id"] for i in r.data["items"]], [old["id"]])

    # ---- boosts --------------------------------------------------------------------

    def plans(self):
        r = self.c.get("/api/boost-plans")
        self.assertEqual(r.status, 200, r)
        return r.data["items"]

    def test_boost_plans_and_buying_a_boost(self):
        plans = self.plans()
        self.assertGreaterEqual(len(plans), 3)
        self.assertEqual([p["duration_days"] for p in plans],
                         sorted(p["duration_days"] for p in plans))
        for p in plans:
            self.assertEqual(set(p), {"id", "name", "price_paise", "currency", "duration_days"})
            self.assertGreater(p["price_paise"], 0)

        listing = self.create(title="Camera")
        path = "/api/listings/%s/boost" % listing["id"]
        r = self.c.post(path, {"plan_id": plans[0]["id"]}, token=self.seller_token)
        self.assertError(r, 409, "LISTING_NOT_ACTIVE")
        self.approve(listing["id"])
        for body, field in (({}, "plan_id"), ({"plan_id": "x"}, "plan_id"),
                            ({"plan_id": str(uuid.uuid4())}, "plan_id"), ([1], "body")):
            self.assertError(self.c.post(path, body, token=self.seller_token), 400,
                             "VALIDATION_ERROR", field)

        r = self.c.post(path, {"plan_id": plans[0]["id"]}, token=self.seller_token)
        self.assertEqual(r.status, 201, r)
        first = r.data["boost"]
        self.assertEqual((r.data["amount_due_paise"], r.data["currency"], r.data["plan"]),
                         (plans[0]["price_paise"], "INR", plans[0]))
        self.assertEqual({k: first[k] for k in ("listing_id", "plan_id", "user_id", "status",
                                                "amount_paise", "duration_days", "starts_at",
                                                "ends_at")},
                         {"listing_id": listing["id"], "plan_id": plans[0]["id"],
                          "user_id": self.seller, "status": "pending_payment",
                          "amount_paise": plans[0]["price_paise"],
                          "duration_days": plans[0]["duration_days"],
                          "starts_at": None, "ends_at": None})
        # Not paid: not boosted.
        self.assertIsNone(self.get(listing["id"]).data["boosted_until"])

        # Asking again replaces the boost waiting for payment.
        r = self.c.post(path, {"plan_id": plans[1]["id"]}, token=self.seller_token)
        self.assertEqual((r.status, r.data["amount_due_paise"]), (201, plans[1]["price_paise"]), r)
        second = r.data["boost"]
        self.assertEqual(self.stack.psql(
            "SELECT string_agg(status, ',' ORDER BY created_at) FROM listing_boosts "
            "WHERE listing_id = '%s'" % listing["id"]), "cancelled,pending_payment")
        # Sold: nobody pays for it any more.
        self.assertEqual(self.c.post("/api/listings/%s/sold" % listing["id"],
                                     token=self.seller_token).status, 200)
        self.assertEqual(self.stack.psql("SELECT status FROM listing_boosts WHERE id = '%s'"
                                         % second["id"]), "cancelled")
        self.assertError(self.c.post(path, {"plan_id": plans[0]["id"]}, token=self.seller_token),
                         409, "LISTING_NOT_ACTIVE")
        self.assertNotEqual(first["id"], second["id"])

    # ---- expiry ----------------------------------------------------------------------

    def test_expiry_reminders_once_per_expiry(self):
        soon = self.active(title="Soon gone lamp")
        later = self.active(title="Later gone lamp")
        self.stack.psql("UPDATE listings SET expires_at = now() + interval '2 days' WHERE id = "
                        "'%s'" % soon["id"])
        self.stack.psql("UPDATE listings SET expires_at = now() + interval '10 days' WHERE id = "
                        "'%s'" % later["id"])
        url = "/api/admin/listings/remind-expiring"
        admin = self.stack.admin_token()
        self.assertEqual(self.c.post(url, token=admin).status, 200)

        def told(listing):
            return int(self.stack.psql(
                "SELECT count(*) FROM outbox WHERE topic = 'listing.expiring' AND "
                "position(convert_to('%s', 'UTF8') IN body) > 0" % listing["id"]))
        self.assertEqual((told(soon), told(later)), (1, 0))
        r = self.c.post(url, token=admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((told(soon), told(later)), (1, 0))
        # Renewed: a new expiry far off, then near again, is a new reminder.
        self.stack.psql("UPDATE listings SET expires_at = now() + interval '10 days', "
                        "expiry_reminded_at = now() - interval '9 days' WHERE id = '%s'"
                        % soon["id"])
        self.stack.psql("UPDATE listings SET expires_at = now() + interval '1 day' WHERE id = "
                        "'%s'" % soon["id"])
        self.assertEqual(self.c.post(url, token=admin).status, 200)
        self.assertEqual(told(soon), 2)
        self.assertError(self.c.post(url, token=self.seller_token), 403, "FORBIDDEN")

    def test_expiry(self):
        expiring = self.active(title="Expiring desk")
        staying = self.active(title="Staying chair")
        boosted = self.active(title="Boosted shelf")
        plans = self.plans()
        r = self.c.post("/api/listings/%s/boost" % expiring["id"], {"plan_id": plans[0]["id"]},
                        token=self.seller_token)
        self.assertEqual(r.status, 201, r)
        pending_boost = r.data["boost"]["id"]
        boost = self.stack.psql(
            "WITH b AS (INSERT INTO listing_boosts (listing_id, plan_id, user_id, status, "
            "amount_paise, duration_days, starts_at, ends_at) VALUES ('%s', '%s', '%s', 'active', "
            "4900, 3, now() - interval '1 hour', now() + interval '3 days') RETURNING id) "
            "SELECT id FROM b" % (boosted["id"], plans[0]["id"], self.seller))
        self.assertEqual(self.public_ids(), [boosted["id"], staying["id"], expiring["id"]])

        # Whatever earlier runs left to expire, so the counts below are ours.
        self.expire()

        # Their dates pass.
        self.stack.psql("UPDATE listings SET expires_at = now() - interval '1 second' "
                        "WHERE id = '%s'" % expiring["id"])
        self.stack.psql("UPDATE listing_boosts SET ends_at = now() - interval '1 second' "
                        "WHERE id = '%s'" % boost)

        # Reads see it before the job runs.
        self.assertEqual(self.status_in_db(expiring["id"]), "ACTIVE")
        self.assertEqual(self.public_ids(), [boosted["id"], staying["id"]])
        self.assertError(self.get(expiring["id"]), 404, "LISTING_NOT_FOUND")
        self.assertEqual(self.get(expiring["id"], self.seller_token).data["status"], "EXPIRED")
        self.assertIsNone(self.get(boosted["id"]).data["boosted_until"])
        r = self.c.get("/api/listings?mine=true&status=EXPIRED", token=self.seller_token)
        self.assertEqual([i["id"] for i in r.data["items"]], [expiring["id"]])
        path = "/api/listings/" + expiring["id"]
        r = self.c.post(path + "/sold", token=self.seller_token)
        self.assertError(r, 409, "LISTING_NOT_ACTIVE")
        self.assertEqual(r.error["details"], {"status": "EXPIRED"})
        self.assertError(self.c.put(path, {"title": "Renewed desk"}, token=self.seller_token),
                         409, "LISTING_NOT_EDITABLE")
        self.assertError(self.c.post(path + "/boost", {"plan_id": plans[0]["id"]},
                                     token=self.seller_token), 409, "LISTING_NOT_ACTIVE")

        # Only catalog.manage runs the job.
        for role in ("USER", "MODERATOR", "MERCHANT"):
            _, token = self.new_user(role)
            self.assertError(self.c.post("/api/admin/listings/expire", token=token), 403,
                             "FORBIDDEN")
        self.assertEqual(self.status_in_db(expiring["id"]), "ACTIVE")

        self.assertEqual(self.expire(),
                         {"expired_listings": 1, "lapsed_boosts": 1, "cancelled_boosts": 1})
        self.assertEqual(self.status_in_db(expiring["id"]), "EXPIRED")
        self.assertEqual(self.status_in_db(staying["id"]), "ACTIVE")
        self.assertEqual(self.stack.psql("SELECT status FROM listing_boosts WHERE id = '%s'"
                                         % boost), "lapsed")
        self.assertEqual(self.stack.psql("SELECT status FROM listing_boosts WHERE id = '%s'"
                                         % pending_boost), "cancelled")
        # Reads say the same after it; running it again finds nothing.
        self.assertEqual(self.public_ids(), [boosted["id"], staying["id"]])
        self.assertEqual(self.get(expiring["id"], self.seller_token).data["status"], "EXPIRED")
        self.assertEqual(self.expire(),
                         {"expired_listings": 0, "lapsed_boosts": 0, "cancelled_boosts": 0})
        # An expired listing can still be deleted by its owner.
        self.assertEqual(self.c.delete(path, token=self.seller_token).status, 200)


if __name__ == "__main__":
    unittest.main()
