"""
Addresses, KYC, the admin user list with status and role changes, the audit
log and the authorization table, through the whole stack.

Every refused change is followed by a read showing that nothing changed.
Users are made through the API (unique emails); other roles are given with
SQL and then a real login, so tokens carry what the accounts pool issues.
"""

import datetime
import threading
import unittest
import uuid

from harness import Client, Stack, StackTestCase, unique_email, unique_phone

PASSWORD = "admin tests 42"
ROLES = ("USER", "MERCHANT", "MODERATOR", "FINANCE", "LOCATION_ADMIN", "ADMIN", "SUPER_ADMIN")

ADDRESS = {"label": "home", "name": "Asha Rao", "phone": "+91-9876543210",
           "line1": "12 MG Road", "line2": "Flat 4", "landmark": "near the temple",
           "city": "Bengaluru", "state": "Karnataka", "pincode": "560001"}


class Accounts(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "notifications": 1}, name="admin").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)

    # ---- helpers -----------------------------------------------------------

    def new_user(self, role="USER", zones=(), name="Admin Test", phone=None):
        """A registered user signed in with role and zones: (user, token)."""
        email = unique_email(role.lower())
        body = {"name": name, "email": email, "password": PASSWORD}
        if phone:
            body["phone"] = phone
        r = self.c.post("/api/auth/register", body)
        self.assertEqual(r.status, 201, r)
        user = r.data["user"]
        if role == "USER" and not zones:
            return user, r.data["tokens"]["access_token"]
        self.stack.psql("UPDATE users SET role = '%s', zones = '{%s}' WHERE id = '%s'"
                        % (role, ",".join(zones), user["id"]))
        r = self.c.post("/api/auth/login", {"email": email, "password": PASSWORD})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["user"]["role"], role)
        return r.data["user"], r.data["tokens"]["access_token"]

    def user_row(self, user_id, columns="role, status, array_to_string(zones, ',')"):
        return self.stack.psql("SELECT %s FROM users WHERE id = '%s'" % (columns, user_id))

    def audit(self, target_id):
        return self.stack.psql(
            "SELECT action || ' ' || actor_id || ' ' || coalesce(before::text, '') || ' -> ' "
            "|| coalesce(after::text, '') || ' ' || request_id FROM audit_log "
            "WHERE target_id = '%s' ORDER BY id" % target_id)

    # ---- addresses -----------------------------------------------------------

    def test_address_crud_and_the_first_is_the_default(self):
        _, token = self.new_user()
        r = self.c.get("/api/addresses", token=token)
        self.assertEqual((r.status, r.data), (200, {"items": []}))

        r = self.c.post("/api/addresses", dict(ADDRESS, latitude=12.9716, longitude=77.5946),
                        token=token)
        self.assertEqual(r.status, 201, r)
        first = r.data
        self.assertTrue(first["is_default"], "the first address is the default")
        self.assertEqual(first["phone"], "+919876543210", "phone stored normalised")
        self.assertEqual((first["latitude"], first["longitude"]), (12.9716, 77.5946))
        for k in ("label", "name", "line1", "line2", "landmark", "city", "state", "pincode"):
            self.assertEqual(first[k], ADDRESS[k])

        r = self.c.post("/api/addresses", dict(ADDRESS, label="work", line1="1 Park St"),
                        token=token)
        self.assertEqual(r.status, 201, r)
        second = r.data
        self.assertFalse(second["is_default"])
        self.assertIsNone(second["latitude"])

        r = self.c.get("/api/addresses/" + second["id"], token=token)
        self.assertEqual((r.status, r.data["line1"]), (200, "1 Park St"))

        # Partial update: what is not sent stays; null clears optional fields.
        r = self.c.put("/api/addresses/" + second["id"],
                       {"city": "Mysuru", "line2": None, "unknown": 1}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["city"], r.data["line2"], r.data["line1"]),
                         ("Mysuru", None, "1 Park St"))

        # The default moves; exactly one default remains.
        r = self.c.request("PATCH", "/api/addresses/%s/default" % second["id"], token=token)
        self.assertEqual((r.status, r.data["is_default"]), (200, True), r)
        items = self.c.get("/api/addresses", token=token).data["items"]
        self.assertEqual([a["id"] for a in items if a["is_default"]], [second["id"]])
        self.assertEqual(items[0]["id"], second["id"], "the default is listed first")

        # Deleting the default hands the flag to the newest remaining.
        r = self.c.delete("/api/addresses/" + second["id"], token=token)
        self.assertEqual((r.status, r.data), (200, {"id": second["id"], "deleted": True}))
        items = self.c.get("/api/addresses", token=token).data["items"]
        self.assertEqual([(a["id"], a["is_default"]) for a in items], [(first["id"], True)])
        r = self.c.get("/api/addresses/" + second["id"], token=token)
        self.assertError(r, 404, "ADDRESS_NOT_FOUND")

    def test_new_default_address_takes_the_flag(self):
        _, token = self.new_user()
        a = self.c.post("/api/addresses", ADDRESS, token=token).data
        b = self.c.post("/api/addresses", dict(ADDRESS, is_default=True), token=token).data
        self.assertTrue(b["is_default"])
        self.assertFalse(self.c.get("/api/addresses/" + a["id"], token=token).data["is_default"])
        # The default cannot be unset directly; another must take its place.
        r = self.c.put("/api/addresses/" + b["id"], {"is_default": False}, token=token)
        self.assertError(r, 409, "DEFAULT_ADDRESS_REQUIRED")
        r = self.c.put("/api/addresses/" + a["id"], {"is_default": True}, token=token)
        self.assertEqual((r.status, r.data["is_default"]), (200, True))
        self.assertFalse(self.c.get("/api/addresses/" + b["id"], token=token).data["is_default"])

    def test_address_bad_input_changes_nothing(self):
        _, token = self.new_user()
        cases = [
            ({k: v for k, v in ADDRESS.items() if k != "name"}, "name"),
            ({k: v for k, v in ADDRESS.items() if k != "pincode"}, "pincode"),
            (dict(ADDRESS, pincode="012345"), "pincode"),
            (dict(ADDRESS, pincode="56001"), "pincode"),
            (dict(ADDRESS, pincode=560001), "pincode"),
            (dict(ADDRESS, phone="98765"), "phone"),
            (dict(ADDRESS, city=""), "city"),
            (dict(ADDRESS, line1="x" * 201), "line1"),
            (dict(ADDRESS, label="x" * 31), "label"),
            (dict(ADDRESS, is_default="yes"), "is_default"),
            (dict(ADDRESS, latitude=91, longitude=0), "latitude"),
            (dict(ADDRESS, latitude=10, longitude=-181), "longitude"),
            (dict(ADDRESS, latitude=10), "longitude"),
            (dict(ADDRESS, latitude="12.9", longitude=77.5), "latitude"),
        ]
        for body, field in cases:
            r = self.c.post("/api/addresses", body, token=token)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertEqual(self.c.get("/api/addresses", token=token).data["items"], [])

        a = self.c.post("/api/addresses", ADDRESS, token=token).data
        for body, field in (({"name": None}, "name"), ({"pincode": "abcdef"}, "pincode"),
                            ({"city": 5}, "city")):
            r = self.c.put("/api/addresses/" + a["id"], body, token=token)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertEqual(self.c.get("/api/addresses/" + a["id"], token=token).data, a)

        r = self.c.get("/api/addresses/not-a-uuid", token=token)
        self.assertError(r, 400, "VALIDATION_ERROR", "id")
        r = self.c.post("/api/addresses", [ADDRESS], token=token)
        self.assertError(r, 400, "VALIDATION_ERROR", "body")

    def test_other_users_addresses_are_404(self):
        _, owner = self.new_user()
        _, other = self.new_user()
        a = self.c.post("/api/addresses", ADDRESS, token=owner).data
        path = "/api/addresses/" + a["id"]
        for method, p, body in (("GET", path, None), ("PUT", path, {"city": "Pune"}),
                                ("DELETE", path, None), ("PATCH", path + "/default", None)):
            r = self.c.request(method, p, body, token=other)
            self.assertError(r, 404, "ADDRESS_NOT_FOUND")
        self.assertEqual(self.c.get("/api/addresses", token=other).data["items"], [])
        self.assertEqual(self.c.get(path, token=owner).data, a)
        r = self.c.get("/api/addresses/" + str(uuid.uuid4()), token=owner)
        self.assertError(r, 404, "ADDRESS_NOT_FOUND")

    def test_default_switching_under_concurrent_requests(self):
        _, token = self.new_user()
        ids = [self.c.post("/api/addresses", dict(ADDRESS, line1="House %d" % i),
                           token=token).data["id"] for i in range(6)]
        statuses = []

        def switch(address_id, rounds):
            c = Client(self.stack)
            for _ in range(rounds):
                r = c.request("PATCH", "/api/addresses/%s/default" % address_id, token=token)
                statuses.append(r.status)

        def add_default(n):
            c = Client(self.stack)
            for i in range(n):
                r = c.post("/api/addresses", dict(ADDRESS, line1="New %d" % i, is_default=True),
                           token=token)
                statuses.append(r.status)
        threads = [threading.Thread(target=switch, args=(i, 4)) for i in ids]
        threads.append(threading.Thread(target=add_default, args=(3,)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(sorted(set(statuses)), [200, 201], statuses)
        items = self.c.get("/api/addresses", token=token).data["items"]
        self.assertEqual(len(items), 9)
        self.assertEqual(sum(1 for a in items if a["is_default"]), 1, items)

    def test_address_limit(self):
        _, token = self.new_user()
        for i in range(20):
            r = self.c.post("/api/addresses", dict(ADDRESS, line1="No %d" % i), token=token)
            self.assertEqual(r.status, 201, r)
        r = self.c.post("/api/addresses", ADDRESS, token=token)
        self.assertError(r, 409, "ADDRESS_LIMIT_REACHED")
        self.assertEqual(len(self.c.get("/api/addresses", token=token).data["items"]), 20)

    # ---- KYC -------------------------------------------------------------------

    def test_kyc_submit_review_and_audit(self):
        user, token = self.new_user()
        r = self.c.get("/api/users/me/kyc", token=token)
        self.assertEqual((r.status, r.data), (200, {"kyc_status": "pending", "submissions": []}))

        r = self.c.post("/api/users/me/kyc", {"document_type": "pan",
                                              "document_number": "abcde 1234f",
                                              "full_name": "Asha Rao",
                                              "date_of_birth": "1990-04-15"}, token=token)
        self.assertEqual(r.status, 201, r)
        sub = r.data
        self.assertEqual((sub["status"], sub["document_number"]), ("pending", "XXXXXX234F"))
        self.assertEqual(self.user_row(user["id"], "kyc_status"), "submitted")
        r = self.c.post("/api/users/me/kyc", {"document_type": "aadhaar",
                                              "document_number": "2345 6789 0123",
                                              "full_name": "Asha Rao"}, token=token)
        self.assertError(r, 409, "KYC_PENDING")

        moderator, mod_token = self.new_user("MODERATOR")
        r = self.c.get("/api/admin/kyc?status=pending&limit=100", token=mod_token)
        self.assertEqual(r.status, 200, r)
        mine = [k for k in r.data["items"] if k["id"] == sub["id"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["document_number"], "ABCDE1234F", "reviewers see all of it")
        self.assertEqual(mine[0]["user"]["id"], user["id"])

        # A rejection needs its reason.
        r = self.c.post("/api/admin/kyc/%s/reject" % sub["id"], {}, token=mod_token)
        self.assertError(r, 400, "VALIDATION_ERROR", "reason")
        rid = self.stack.request_id("kyc")
        r = self.c.post("/api/admin/kyc/%s/reject" % sub["id"], {"reason": "photo unreadable"},
                        token=mod_token, headers={"X-Request-Id": rid})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["status"], r.data["reason"], r.data["reviewed_by"]),
                         ("rejected", "photo unreadable", moderator["id"]))
        self.assertEqual(self.user_row(user["id"], "kyc_status"), "rejected")
        self.assertEqual(self.audit(sub["id"]),
                         'kyc.reject %s {"status": "pending"} -> {"reason": "photo unreadable", '
                         '"status": "rejected"} %s' % (moderator["id"], rid))
        r = self.c.post("/api/admin/kyc/%s/approve" % sub["id"], {}, token=mod_token)
        self.assertError(r, 409, "KYC_ALREADY_REVIEWED")

        # Rejected: a new submission is allowed, and approved.
        r = self.c.post("/api/users/me/kyc", {"document_type": "aadhaar",
                                              "document_number": "2345-6789-0123",
                                              "full_name": "Asha Rao"}, token=token)
        self.assertEqual(r.status, 201, r)
        second = r.data
        r = self.c.post("/api/admin/kyc/%s/approve" % second["id"], None, token=mod_token)
        self.assertEqual((r.status, r.data["status"]), (200, "approved"), r)
        r = self.c.get("/api/users/me/kyc", token=token)
        self.assertEqual(r.data["kyc_status"], "approved")
        self.assertEqual([s["status"] for s in r.data["submissions"]], ["approved", "rejected"])
        self.assertEqual(r.data["submissions"][0]["document_number"], "XXXXXXXX0123")
        r = self.c.post("/api/users/me/kyc", {"document_type": "pan",
                                              "document_number": "ABCDE1234F",
                                              "full_name": "Asha Rao"}, token=token)
        self.assertError(r, 409, "KYC_ALREADY_APPROVED")

    def test_kyc_bad_input_and_self_review(self):
        user, token = self.new_user()
        good = {"document_type": "passport", "document_number": "K1234567",
                "full_name": "Asha Rao"}
        cases = [
            (dict(good, document_type="ration_card"), "document_type"),
            ({k: v for k, v in good.items() if k != "document_type"}, "document_type"),
            (dict(good, document_number="12345678"), "document_number"),
            (dict(good, document_type="aadhaar", document_number="1234 5678 9012"),
             "document_number"),
            (dict(good, document_type="pan", document_number="ABCD1234F"), "document_number"),
            (dict(good, document_type="voter_id", document_number="AB12345678"),
             "document_number"),
            (dict(good, document_number="K" * 41), "document_number"),
            (dict(good, full_name=""), "full_name"),
            (dict(good, date_of_birth="2999-01-01"), "date_of_birth"),
        ]
        for body, field in cases:
            r = self.c.post("/api/users/me/kyc", body, token=token)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertEqual(self.c.get("/api/users/me/kyc", token=token).data["submissions"], [])
        self.assertEqual(self.user_row(user["id"], "kyc_status"), "pending")

        # A moderator cannot review their own submission.
        mod, mod_token = self.new_user("MODERATOR")
        r = self.c.post("/api/users/me/kyc", good, token=mod_token)
        self.assertEqual(r.status, 201, r)
        r = self.c.post("/api/admin/kyc/%s/approve" % r.data["id"], {}, token=mod_token)
        self.assertError(r, 403, "CANNOT_REVIEW_SELF")
        self.assertEqual(self.user_row(mod["id"], "kyc_status"), "submitted")

        r = self.c.post("/api/admin/kyc/%s/approve" % uuid.uuid4(), {}, token=mod_token)
        self.assertError(r, 404, "KYC_NOT_FOUND")
        r = self.c.post("/api/admin/kyc/nope/approve", {}, token=mod_token)
        self.assertError(r, 400, "VALIDATION_ERROR", "id")
        r = self.c.get("/api/admin/kyc?status=maybe", token=mod_token)
        self.assertError(r, 400, "VALIDATION_ERROR", "status")
        r = self.c.get("/api/admin/kyc?limit=101", token=mod_token)
        self.assertError(r, 400, "VALIDATION_ERROR", "limit")
        r = self.c.get("/api/admin/kyc?page=0", token=mod_token)
        self.assertError(r, 400, "VALIDATION_ERROR", "page")

    # ---- users: list, status, role -----------------------------------------------

    def test_user_list_filters_and_pagination(self):
        zone = "z" + uuid.uuid4().hex[:8]
        made = [self.new_user("MERCHANT", zones=(zone,), name="Merchant %d" % i)[0]
                for i in range(3)]
        _, admin = self.new_user("ADMIN")
        r = self.c.get("/api/users?zone=%s&limit=2" % zone, token=admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["pagination"], {"page": 1, "limit": 2, "total": 3, "pages": 2})
        newest_first = [u["id"] for u in reversed(made)]
        self.assertEqual([u["id"] for u in r.data["items"]], newest_first[:2])
        r = self.c.get("/api/users?zone=%s&limit=2&page=2" % zone, token=admin)
        self.assertEqual([u["id"] for u in r.data["items"]], newest_first[2:])
        r = self.c.get("/api/users?zone=%s&page=5" % zone, token=admin)
        self.assertEqual((r.data["items"], r.data["pagination"]["total"]), ([], 3))

        r = self.c.get("/api/users?zone=%s&role=MERCHANT&status=active" % zone, token=admin)
        self.assertEqual(r.data["pagination"]["total"], 3)
        r = self.c.get("/api/users?zone=%s&role=USER" % zone, token=admin)
        self.assertEqual(r.data["pagination"]["total"], 0)
        r = self.c.get("/api/users?search=%s" % made[1]["email"], token=admin)
        self.assertEqual([u["id"] for u in r.data["items"]], [made[1]["id"]])
        # Wildcards in search are plain characters.
        r = self.c.get("/api/users?zone=%s&search=%%25" % zone, token=admin)
        self.assertEqual(r.data["pagination"]["total"], 0)
        self.assertNotIn("password_hash", r.body)

        for query, field in (("role=KING", "role"), ("status=gone", "status"),
                             ("zone=a%20b", "zone"), ("limit=0", "limit"), ("page=x", "page"),
                             ("search=" + "s" * 101, "search")):
            r = self.c.get("/api/users?" + query, token=admin)
            self.assertError(r, 400, "VALIDATION_ERROR", field)

        r = self.c.get("/api/users/" + made[0]["id"], token=admin)
        self.assertEqual((r.status, r.data["email"]), (200, made[0]["email"]))
        r = self.c.get("/api/users/" + str(uuid.uuid4()), token=admin)
        self.assertError(r, 404, "USER_NOT_FOUND")

    def test_location_admin_sees_and_manages_only_its_zones(self):
        zone, other_zone = "z" + uuid.uuid4().hex[:8], "z" + uuid.uuid4().hex[:8]
        _, la = self.new_user("LOCATION_ADMIN", zones=(zone,))
        inside, _ = self.new_user("USER", zones=(zone,))
        outside, _ = self.new_user("USER", zones=(other_zone,))
        finance_inside, _ = self.new_user("FINANCE", zones=(zone,))

        r = self.c.get("/api/users?limit=100&zone=" + other_zone, token=la)
        self.assertEqual(r.data["items"], [])
        r = self.c.get("/api/users?limit=100&role=USER&zone=" + zone, token=la)
        self.assertEqual([u["id"] for u in r.data["items"]], [inside["id"]])
        self.assertError(self.c.get("/api/users/" + outside["id"], token=la), 404,
                         "USER_NOT_FOUND")

        path = "/api/users/%s/status"
        r = self.c.put(path % outside["id"], {"status": "suspended"}, token=la)
        self.assertError(r, 404, "USER_NOT_FOUND")
        r = self.c.put(path % finance_inside["id"], {"status": "suspended"}, token=la)
        self.assertError(r, 403, "FORBIDDEN")
        self.assertEqual(self.user_row(outside["id"], "status"), "active")
        self.assertEqual(self.user_row(finance_inside["id"], "status"), "active")
        r = self.c.put(path % inside["id"], {"status": "suspended"}, token=la)
        self.assertEqual((r.status, r.data["status"]), (200, "suspended"), r)

    def test_suspension_ends_sessions_and_is_audited(self):
        target, target_token = self.new_user("USER")
        admin, admin_token = self.new_user("ADMIN")
        self.assertEqual(self.c.get("/api/users/me", token=target_token).status, 200)
        path = "/api/users/%s/status" % target["id"]
        for body, field in (({}, "status"), ({"status": "deactivated"}, "status"),
                            ({"status": "banned"}, "status")):
            self.assertError(self.c.put(path, body, token=admin_token), 400, "VALIDATION_ERROR",
                             field)
        rid = self.stack.request_id("suspend")
        r = self.c.put(path, {"status": "suspended"}, token=admin_token,
                       headers={"X-Request-Id": rid})
        self.assertEqual((r.status, r.data["status"]), (200, "suspended"), r)
        # The target's access token stops working (deny-list, not expiry).
        def refused():
            return self.c.get("/api/users/me", token=target_token).status == 401
        for _ in range(50):
            if refused():
                break
            threading.Event().wait(0.1)
        self.assertTrue(refused(), "a suspended user's token still works")
        r = self.c.post("/api/auth/login", {"email": target["email"], "password": PASSWORD})
        self.assertError(r, 403, "ACCOUNT_SUSPENDED")
        # Setting the same status again changes and audits nothing.
        r = self.c.put(path, {"status": "suspended"}, token=admin_token)
        self.assertEqual(r.status, 200, r)
        r = self.c.put(path, {"status": "active"}, token=admin_token)
        self.assertEqual((r.status, r.data["status"]), (200, "active"))
        log = self.audit(target["id"]).splitlines()
        self.assertEqual(len(log), 2, log)
        self.assertEqual(log[0], 'user.status %s {"role": "USER", "zones": [], "status": "active"}'
                         ' -> {"role": "USER", "zones": [], "status": "suspended"} %s'
                         % (admin["id"], rid))
        self.assertTrue(log[1].startswith("user.status %s " % admin["id"]), log)
        self.assertIn('-> {"role": "USER", "zones": [], "status": "active"}', log[1])
        r = self.c.post("/api/auth/login", {"email": target["email"], "password": PASSWORD})
        self.assertEqual(r.status, 200, r)

        # Nobody changes their own status; admins are out of an ADMIN's reach.
        r = self.c.put("/api/users/%s/status" % admin["id"], {"status": "suspended"},
                       token=admin_token)
        self.assertError(r, 403, "CANNOT_CHANGE_SELF")
        other_admin, _ = self.new_user("ADMIN")
        r = self.c.put("/api/users/%s/status" % other_admin["id"], {"status": "suspended"},
                       token=admin_token)
        self.assertError(r, 403, "FORBIDDEN")
        self.assertEqual(self.user_row(other_admin["id"], "status"), "active")

    def test_role_changes(self):
        target, target_token = self.new_user("USER")
        admin, admin_token = self.new_user("ADMIN")
        sa, sa_token = self.new_user("SUPER_ADMIN")
        path = "/api/users/%s/role" % target["id"]

        # Only SUPER_ADMIN grants the admin roles.
        for role in ("ADMIN", "SUPER_ADMIN"):
            r = self.c.put(path, {"role": role}, token=admin_token)
            self.assertError(r, 403, "FORBIDDEN")
        self.assertEqual(self.user_row(target["id"]), "USER|active|")
        # Zones are required for LOCATION_ADMIN and MERCHANT, and checked.
        for body, field in (({"role": "LOCATION_ADMIN"}, "zones"),
                            ({"role": "MERCHANT", "zones": []}, "zones"),
                            ({"role": "MERCHANT", "zones": "north"}, "zones"),
                            ({"role": "MERCHANT", "zones": ["a,b"]}, "zones"),
                            ({"role": "MERCHANT", "zones": ["z"] * 11}, "zones"),
                            ({"role": "MERCHANT", "zones": ["z" * 25]}, "zones"),
                            ({"role": "KING"}, "role"), ({}, "role")):
            self.assertError(self.c.put(path, body, token=admin_token), 400, "VALIDATION_ERROR",
                             field)
        self.assertEqual(self.user_row(target["id"]), "USER|active|")

        rid = self.stack.request_id("role")
        r = self.c.put(path, {"role": "LOCATION_ADMIN", "zones": ["north", "south", "north"]},
                       token=admin_token, headers={"X-Request-Id": rid})
        self.assertEqual((r.status, r.data["role"], r.data["zones"]),
                         (200, "LOCATION_ADMIN", ["north", "south"]), r)
        self.assertEqual(self.audit(target["id"]),
                         'user.role %s {"role": "USER", "zones": [], "status": "active"} -> '
                         '{"role": "LOCATION_ADMIN", "zones": ["north", "south"], '
                         '"status": "active"} %s' % (admin["id"], rid))
        # The old token said USER: it is revoked, a new login says the new role.
        for _ in range(50):
            if self.c.get("/api/users/me", token=target_token).status == 401:
                break
            threading.Event().wait(0.1)
        self.assertError(self.c.get("/api/users/me", token=target_token), 401, "TOKEN_REVOKED")
        r = self.c.post("/api/auth/login", {"email": target["email"], "password": PASSWORD})
        self.assertEqual((r.data["user"]["role"], r.data["user"]["zones"]),
                         ("LOCATION_ADMIN", ["north", "south"]))

        r = self.c.put(path, {"role": "ADMIN"}, token=sa_token)
        self.assertEqual((r.status, r.data["role"], r.data["zones"]), (200, "ADMIN", []), r)
        # Now an admin: out of another ADMIN's reach, within a SUPER_ADMIN's.
        r = self.c.put(path, {"role": "USER"}, token=admin_token)
        self.assertError(r, 403, "FORBIDDEN")
        self.assertEqual(self.user_row(target["id"]), "ADMIN|active|")
        r = self.c.put(path, {"role": "USER"}, token=sa_token)
        self.assertEqual((r.status, r.data["role"]), (200, "USER"))

        for who, token in ((admin, admin_token), (sa, sa_token)):
            r = self.c.put("/api/users/%s/role" % who["id"], {"role": "USER"}, token=token)
            self.assertError(r, 403, "CANNOT_CHANGE_SELF")
        self.assertEqual(self.user_row(sa["id"], "role"), "SUPER_ADMIN")
        r = self.c.put("/api/users/%s/role" % uuid.uuid4(), {"role": "USER"}, token=sa_token)
        self.assertError(r, 404, "USER_NOT_FOUND")

    # ---- audit log ---------------------------------------------------------------

    def test_audit_log_read(self):
        target, _ = self.new_user("USER")
        admin, admin_token = self.new_user("ADMIN")
        for status in ("suspended", "active", "suspended"):
            r = self.c.put("/api/users/%s/status" % target["id"], {"status": status},
                           token=admin_token)
            self.assertEqual(r.status, 200, r)
        r = self.c.get("/api/admin/audit-log?target_id=%s&limit=2" % target["id"],
                       token=admin_token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["pagination"], {"page": 1, "limit": 2, "total": 3, "pages": 2})
        first = r.data["items"][0]
        self.assertEqual((first["action"], first["actor_id"], first["actor_role"],
                          first["target_type"], first["after"]["status"]),
                         ("user.status", admin["id"], "ADMIN", "user", "suspended"))
        self.assertTrue(first["request_id"])
        r = self.c.get("/api/admin/audit-log?actor_id=%s&action=user.status" % admin["id"],
                       token=admin_token)
        self.assertEqual(r.data["pagination"]["total"], 3)
        today = datetime.datetime.now(datetime.timezone.utc).date()
        r = self.c.get("/api/admin/audit-log?target_id=%s&from=%s&to=%s"
                       % (target["id"], today, today), token=admin_token)
        self.assertEqual(r.data["pagination"]["total"], 3)
        r = self.c.get("/api/admin/audit-log?target_id=%s&to=%s"
                       % (target["id"], today - datetime.timedelta(days=1)), token=admin_token)
        self.assertEqual(r.data["pagination"]["total"], 0)
        for query, field in (("actor_id=me", "actor_id"), ("from=2026-02-30", "from"),
                             ("from=2026-03-02&to=2026-03-01", "to"), ("limit=500", "limit")):
            r = self.c.get("/api/admin/audit-log?" + query, token=admin_token)
            self.assertError(r, 400, "VALIDATION_ERROR", field)

    # ---- the authorization table -------------------------------------------------

    def test_every_row_of_the_authorization_table(self):
        """Each protected route with each role: refused with 403 FORBIDDEN by
        the front, or served (whatever the pool then says)."""
        tokens = {role: self.new_user(role, zones=("zauth",))[1] for role in ROLES}
        admins = {"ADMIN", "SUPER_ADMIN"}
        nobody = str(uuid.uuid4())
        table = [
            ("pools.read", "GET", "/api/admin/pools", None, admins),
            ("users.read", "GET", "/api/users", None, admins | {"MODERATOR", "LOCATION_ADMIN"}),
            ("users.read", "GET", "/api/users/" + nobody, None,
             admins | {"MODERATOR", "LOCATION_ADMIN"}),
            ("users.status", "PUT", "/api/users/%s/status" % nobody, {"status": "active"},
             admins | {"LOCATION_ADMIN"}),
            ("users.role", "PUT", "/api/users/%s/role" % nobody, {"role": "USER"}, admins),
            ("kyc.review", "GET", "/api/admin/kyc", None, admins | {"MODERATOR"}),
            ("kyc.review", "POST", "/api/admin/kyc/%s/approve" % nobody, {}, admins | {"MODERATOR"}),
            ("kyc.review", "POST", "/api/admin/kyc/%s/reject" % nobody, {"reason": "r"},
             admins | {"MODERATOR"}),
            ("audit.read", "GET", "/api/admin/audit-log", None, admins),
            ("self", "GET", "/api/users/me", None, set(ROLES)),
            ("self", "GET", "/api/addresses", None, set(ROLES)),
            ("self", "GET", "/api/users/me/kyc", None, set(ROLES)),
        ]
        for action, method, path, body, allowed in table:
            for role in ROLES:
                with self.subTest(action=action, path=path, role=role):
                    r = self.c.request(method, path, body, token=tokens[role])
                    if role in allowed:
                        self.assertIn(r.status, (200, 404), r)
                    else:
                        self.assertError(r, 403, "FORBIDDEN")
            # Without a token every one of them is 401.
            r = self.c.request(method, path, body)
            self.assertError(r, 401, "AUTH_REQUIRED")


if __name__ == "__main__":
    unittest.main()
