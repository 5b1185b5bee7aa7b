"""The end-to-end protocol tests of test_protocol_end_to_end, run again with their users spread over
two nodes of one cluster (a real redis-server): everything docs/PROTOCOL.md promises holds across
nodes.

Skipped, with the reason, where redis-server or redis-py is missing; CI sets
ALGOKART_REQUIRE_CLUSTER_TESTS so that it fails instead."""

from __future__ import annotations

import unittest

import test_protocol_end_to_end


class LoginOnTwoNodesTest(test_protocol_end_to_end.LoginTest):
    cluster_nodes = 2


class MessageOnTwoNodesTest(test_protocol_end_to_end.MessageTest):
    cluster_nodes = 2


class DirectMessageOnTwoNodesTest(test_protocol_end_to_end.DirectMessageTest):
    cluster_nodes = 2


class GeneralCommandOnTwoNodesTest(test_protocol_end_to_end.GeneralCommandTest):
    cluster_nodes = 2


class DisconnectNoticeOnTwoNodesTest(test_protocol_end_to_end.DisconnectNoticeTest):
    cluster_nodes = 2


class IdleTimeoutOnTwoNodesTest(test_protocol_end_to_end.IdleTimeoutTest):
    cluster_nodes = 2


class KeepAliveOnTwoNodesTest(test_protocol_end_to_end.KeepAliveTest):
    cluster_nodes = 2


if __name__ == "__main__":
    unittest.main()
