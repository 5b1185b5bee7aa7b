"""cluster.target: every --redis-url form, parsed without redis-py (pure)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.target import RedisTarget, parse_redis_url


class ParseTest(unittest.TestCase):
    def test_one_redis(self) -> None:
        target = parse_redis_url("redis://10.0.0.5:6380/2")
        self.assertEqual(target, RedisTarget("redis", (("10.0.0.5", 6380),), db=2))
        self.assertEqual(target.describe(), "10.0.0.5:6380/2")
        self.assertEqual(parse_redis_url("redis://cache").hosts, (("cache", 6379),))
        self.assertEqual(parse_redis_url("redis://[::1]:7000/").describe(), "[::1]:7000/0")

    def test_credentials_are_for_redis_and_never_described(self) -> None:
        target = parse_redis_url("redis://algokart:p%40ss@10.0.0.5/0")
        self.assertEqual((target.username, target.password), ("algokart", "p@ss"))
        self.assertEqual(parse_redis_url("redis://:secret@h/0").connection_options(), {"db": 0, "password": "secret"})
        self.assertNotIn("secret", repr(parse_redis_url("redis://:secret@h/0")))
        self.assertNotIn("p@ss", target.describe())

    def test_sentinels(self) -> None:
        target = parse_redis_url("redis+sentinel://:pw@s1,s2:26380,[::1]/mymaster/3")
        self.assertEqual(target.kind, "sentinel")
        self.assertEqual(target.hosts, (("s1", 26379), ("s2", 26380), ("::1", 26379)))
        self.assertEqual((target.service, target.db, target.password), ("mymaster", 3, "pw"))
        self.assertEqual(target.describe(), "mymaster/3 via Sentinel s1:26379,s2:26380,[::1]:26379")
        self.assertEqual(parse_redis_url("redis+sentinel://s1/mymaster").db, 0)

    def test_a_redis_cluster_through_any_of_its_nodes(self) -> None:
        target = parse_redis_url("redis+cluster://:pw@n1:7000,n2:7001")
        self.assertEqual(target.kind, "cluster")
        self.assertEqual(target.hosts, (("n1", 7000), ("n2", 7001)))
        self.assertEqual(target.describe(), "Cluster n1:7000,n2:7001")
        node = target.at("10.0.0.9", 7005)
        self.assertEqual((node.kind, node.hosts, node.password), ("redis", (("10.0.0.9", 7005),), "pw"))
        self.assertTrue(parse_redis_url("rediss+cluster://n1/0?ssl_ca_certs=ca").at("n2", 1).tls)

    def test_tls_options(self) -> None:
        target = parse_redis_url("rediss://h:6380/0?ssl_ca_certs=/etc/ca.crt&ssl_check_hostname=false")
        options = target.connection_options()
        self.assertEqual(options["ssl"], True)
        self.assertEqual(options["ssl_ca_certs"], "/etc/ca.crt")
        self.assertEqual(options["ssl_check_hostname"], False)
        self.assertEqual(parse_redis_url("rediss://h").connection_options()["ssl_check_hostname"], True)
        self.assertTrue(parse_redis_url("rediss+sentinel://s1/m?ssl_certfile=c&ssl_keyfile=k").tls)

    def test_what_is_refused_says_why(self) -> None:
        cases = {
            "http://h:6379": "expected redis://",
            "redis://h:port/0": "host[:port]",
            "redis://h:99999/0": "out of range",
            "redis://h/db": "database number",
            "redis://h/0/1": "database number",
            "redis://a,b/0": "Sentinels",
            "redis+cluster://n1/1": "database 0 only",
            "redis+sentinel://s1": "service",
            "redis+sentinel://s1/m/x": "database number",
            "redis://h/0?ssl_ca_certs=x": "rediss:// only",
            "rediss://h/0?socket_timeout=1": "unknown option 'socket_timeout'",
            "rediss://h/0?ssl_check_hostname=maybe": "true or false",
            "rediss://h/0?ssl_ca_certs=": "needs one value",
            "redis://h/0#x": "#",
            "redis://": "host[:port]",
        }
        for url, reason in cases.items():
            with self.subTest(url=url), self.assertRaises(ValueError) as refused:
                parse_redis_url(url)
            self.assertIn(reason, str(refused.exception))


if __name__ == "__main__":
    unittest.main()
