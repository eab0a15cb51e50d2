"""Tests of controller.rollout, the pure TrafficShift state machine."""
