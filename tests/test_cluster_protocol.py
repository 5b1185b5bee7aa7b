"""The end-to-end protocol tests of test_server, run again with their users spread over two nodes
of one cluster (a real redis-server): everything docs/PROTOCOL.md promises holds across nodes.

Skipped, with the reason, where redis-server or redis-py is missing; CI sets
ALGOKART_REQUIRE_CLUSTER_TESTS so that it fails instead."""

from __future__ import annotations

import unittest

import test_server


class LoginOnTwoNodesTest(test_server.LoginTest):
    cluster_nodes = 2


class MessageOnTwoNodesTest(test_server.MessageTest):
    cluster_nodes = 2


class DirectMessageOnTwoNodesTest(test_server.DirectMessageTest):
    cluster_nodes = 2


class GeneralCommandOnTwoNodesTest(test_server.GeneralCommandTest):
    cluster_nodes = 2


class DisconnectNoticeOnTwoNodesTest(test_server.DisconnectNoticeTest):
    cluster_nodes = 2


class IdleTimeoutOnTwoNodesTest(test_server.IdleTimeoutTest):
    cluster_nodes = 2


class KeepAliveOnTwoNodesTest(test_server.KeepAliveTest):
    cluster_nodes = 2


if __name__ == "__main__":
    unittest.main()
