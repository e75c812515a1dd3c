"""Live tests here count replicas and scale by hand: the autoscalers sit out the session."""

from suites.conformance.conftest import autoscalers_suspended

__all__ = ["autoscalers_suspended"]
