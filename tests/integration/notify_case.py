"""
Shared set-up of the notifications tests: a stack with the accounts and
notifications pools, users made straight in the database (with a phone, an
email and a zone unique to the test), domain events applied through the
test-mode job notify.test_event, and readers of the delivery rows.
"""

import json
import uuid

from harness import Client, Stack, StackTestCase, unique_email, unique_phone, wait_for


class NotifyCase(StackTestCase):
    pools = {"accounts": 1, "notifications": 1}
    # Quiet hours off (start = end), so no test depends on the time of day;
    # test_notifications_quiet.py sets them.
    base_env = {"MANDI_QUIET_HOURS_START": "00:00", "MANDI_QUIET_HOURS_END": "00:00",
                "MANDI_NOTIFY_RETRY_BASE_MS": "200"}
    env = None

    @classmethod
    def setUpClass(cls):
        env = dict(cls.base_env)
        env.update(cls.stack_env())
        cls.stack = Stack(pools=cls.pools, env=env, name=cls.__name__.lower()).start()
        cls.admin_id = str(uuid.uuid4())
        cls.admin = cls.stack.token(cls.admin_id, "ADMIN")

    @classmethod
    def stack_env(cls):
        return dict(cls.env or {})

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.zone = "nz-" + uuid.uuid4().hex[:10]

    # ---- users -----------------------------------------------------------------

    def user(self, role="USER", zones=None, phone=True, email=True, preferences=None,
             status="active"):
        """A user row; returns {"id", "token", "phone", "email"}. preferences
        (e.g. {"notifications": {"sms": False}}) are set through the accounts
        pool's PUT /api/users/me/preferences, as a user would."""
        uid = str(uuid.uuid4())
        ph = unique_phone() if phone else None
        em = unique_email("notify") if email else None
        zones = [self.zone] if zones is None else list(zones)
        self.stack.psql(
            "INSERT INTO users (id, phone, email, name, role, zones, status) VALUES "
            "('%s', %s, %s, 'N', '%s', '{%s}', '%s')"
            % (uid, "'%s'" % ph if ph else "NULL", "'%s'" % em if em else "NULL", role,
               ",".join(zones), status))
        token = self.stack.token(uid, role, zones)
        if preferences is not None:
            r = self.c.put("/api/users/me/preferences", preferences, token=token)
            self.assertEqual(r.status, 200, r)
        return {"id": uid, "token": token, "phone": ph, "email": em}

    def device(self, user, token=None, platform="android"):
        token = token or "dev-" + uuid.uuid4().hex + "-" + uuid.uuid4().hex
        r = self.c.post("/api/notifications/register-token",
                        {"token": token, "platform": platform}, token=user["token"])
        self.assertEqual(r.status, 200, r)
        return token

    # ---- events ----------------------------------------------------------------

    def event(self, topic, body, ref=None):
        """Applies one domain event as the consumer would; returns the
        reaction's result {"in_app", "deliveries", "held"} and the ref."""
        ref = ref or "evt-" + uuid.uuid4().hex
        job_id = self.stack.enqueue_job("notifications", "notify.test_event",
                                        {"topic": topic, "body": body, "ref": ref})
        job = self.stack.wait_job(job_id)
        self.assertEqual(job["status"], "succeeded", job)
        return job["result"], ref

    def order(self, user, status="CONFIRMED", **extra):
        body = {"id": str(uuid.uuid4()), "number": "MND-" + uuid.uuid4().hex[:6].upper(),
                "user_id": user["id"], "store_id": str(uuid.uuid4()), "zone": self.zone,
                "status": status, "total_paise": 123450, "currency": "INR"}
        body.update(extra)
        return body

    # ---- rows ------------------------------------------------------------------

    def rows(self, sql):
        return json.loads(self.stack.psql("SELECT coalesce(json_agg(x), '[]') FROM (%s) x" % sql))

    def deliveries(self, ref, user=None):
        where = "ref = '%s'" % ref.replace("'", "''")
        if user:
            where += " AND user_id = '%s'" % user["id"]
        return self.rows("SELECT * FROM notification_deliveries WHERE %s ORDER BY channel" % where)

    def wait_deliveries(self, ref, statuses=("sent",), count=None, timeout=20):
        """Waits until every delivery of ref (at least count) is in statuses."""
        def done():
            d = self.deliveries(ref)
            if d and (count is None or len(d) >= count) and \
                    all(x["status"] in statuses for x in d):
                return d
            return None
        return wait_for(done, timeout, "deliveries of %s to be %s" % (ref, "/".join(statuses)),
                        interval=0.2)

    def inbox(self, user, query=""):
        r = self.c.get("/api/notifications" + query, token=user["token"])
        self.assertEqual(r.status, 200, r)
        return r.data
