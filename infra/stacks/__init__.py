"""Deployment units: one stack per environment."""
