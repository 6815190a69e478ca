"""
mandictl create-admin: the first administrator of a deployment, made from
the command line, who then logs in through the API like anyone else.

mandictl talks to the database directly (DATABASE_URL); the stack provides
the API to log in with.
"""

import unittest
import uuid

from harness import Client, Stack, StackTestCase, jwt_parts, unique_email


class Mandictl(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1}, name="mandictl").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)

    def users_with_email(self, email):
        return int(self.stack.psql("SELECT count(*) FROM users WHERE email = '%s'"
                                   % email.replace("'", "''")))

    def login(self, email, password):
        return self.c.post("/api/auth/login", {"email": email, "password": password})

    def test_create_admin_then_log_in(self):
        email = unique_email("Admin")
        password = "first admin pass"
        p = self.stack.mandictl("create-admin", "--email", email, "--password-stdin",
                                password=password)
        self.assertEqual(p.returncode, 0, p.stderr)
        user_id = p.stdout.strip()
        uuid.UUID(user_id)
        self.assertNotIn(password, p.stdout + p.stderr)
        row = self.stack.psql("SELECT email, name, role, status, password_hash LIKE "
                              "'$argon2id$%%' FROM users WHERE id = '%s'" % user_id)
        self.assertEqual(row, "%s|Administrator|SUPER_ADMIN|active|t" % email.lower())

        r = self.login(email.lower(), password)
        self.assertEqual(r.status, 200, r)
        user = r.data["user"]
        self.assertEqual((user["id"], user["role"], user["name"], user["email"]),
                         (user_id, "SUPER_ADMIN", "Administrator", email.lower()))
        access = r.data["tokens"]["access_token"]
        self.assertEqual(jwt_parts(access)[1]["role"], "SUPER_ADMIN")
        r = self.c.get("/api/admin/pools", token=access)
        self.assertEqual(r.status, 200, r)
        self.assertIn("accounts", [s["service"] for s in r.data["broker"]["services"]])
        self.assertEqual(self.login(email.lower(), "not the password").code,
                         "INVALID_CREDENTIALS")

    def test_admin_role_and_name(self):
        email = unique_email("ops")
        p = self.stack.mandictl("create-admin", "--email", email, "--password-stdin",
                                "--name", "Ops Team", "--role", "ADMIN",
                                stdin="crlf line pass\r\nsecond line ignored\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.login(email, "crlf line pass")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["user"]["role"], r.data["user"]["name"]), ("ADMIN", "Ops Team"))
        r = self.c.get("/api/admin/pools", token=r.data["tokens"]["access_token"])
        self.assertEqual(r.status, 200, r)

    def test_a_plain_user_is_not_an_admin(self):
        r = self.c.post("/api/auth/register", {"name": "Plain", "email": unique_email("plain"),
                                               "password": "plain user pass"})
        self.assertEqual(r.status, 201, r)
        r = self.c.get("/api/admin/pools", token=r.data["tokens"]["access_token"])
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.code, "FORBIDDEN")

    def test_duplicate_email(self):
        email = unique_email("dup")
        first = self.stack.mandictl("create-admin", "--email", email, "--password-stdin",
                                    password="original password")
        self.assertEqual(first.returncode, 0, first.stderr)
        again = self.stack.mandictl("create-admin", "--email", email.upper(), "--password-stdin",
                                    "--role", "ADMIN", password="replacement password")
        self.assertEqual(again.returncode, 1, again.stderr)
        self.assertEqual(again.stdout, "")
        self.assertIn(email, again.stderr)
        self.assertEqual(self.users_with_email(email), 1)
        # The first account is as it was.
        self.assertEqual(self.login(email, "original password").data["user"]["role"],
                         "SUPER_ADMIN")
        self.assertEqual(self.login(email, "replacement password").code, "INVALID_CREDENTIALS")

    def test_bad_passwords(self):
        for label, stdin in (("short", "seven77\n"), ("long", "p" * 129 + "\n"),
                             ("empty", "\n"), ("none", "")):
            with self.subTest(password=label):
                email = unique_email("badpw")
                p = self.stack.mandictl("create-admin", "--email", email, "--password-stdin",
                                        stdin=stdin)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(p.stdout, "")
                self.assertIn("password", p.stderr)
                self.assertEqual(self.users_with_email(email), 0)
        email = unique_email("edge")
        p = self.stack.mandictl("create-admin", "--email", email, "--password-stdin",
                                password="p" * 128)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.login(email, "p" * 128).status, 200)

    def test_usage_errors(self):
        email = unique_email("usage")
        cases = [
            (),
            ("frobnicate",),
            ("create-admin",),
            ("create-admin", "--password-stdin"),
            ("create-admin", "--email", email),
            ("create-admin", "--email"),
            ("create-admin", "--email", email, "--password-stdin", "--role", "USER"),
            ("create-admin", "--email", email, "--password-stdin", "--name", ""),
            ("create-admin", "--email", email, "--password-stdin", "--name", "n" * 101),
            ("create-admin", "--email", email, "--password-stdin", "--verbose"),
            ("create-admin", "--email", "not-an-email", "--password-stdin"),
            ("create-admin", "--email", "a@b", "--password-stdin"),
            ("create-admin", "--email", "x" * 250 + "@example.com", "--password-stdin"),
            ("create-admin", "--email", "two@at@example.com", "--password-stdin"),
        ]
        for args in cases:
            with self.subTest(args=" ".join(a[:20] for a in args)):
                p = self.stack.mandictl(*args, password="good password 1")
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("usage:", p.stderr)
                self.assertEqual(p.stdout, "")
        self.assertEqual(self.users_with_email(email), 0)

    def test_help(self):
        p = self.stack.mandictl("help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("create-admin --email EMAIL --password-stdin", p.stdout)
        self.assertIn("SUPER_ADMIN|ADMIN", p.stdout)


if __name__ == "__main__":
    unittest.main()
