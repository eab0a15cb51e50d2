"""Tests of controller.routing, the pure VirtualService weight engine."""
