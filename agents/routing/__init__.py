"""Offline routing of a user message to one of an account's specialised agents.

Pure Python: nothing here imports Django models at module level.
"""

from agents.routing.router import AgentProfile, RouteDecision, Router, router_for_profiles

__all__ = ["AgentProfile", "RouteDecision", "Router", "router_for_profiles"]
