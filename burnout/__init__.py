"""Burnout and compassion-fatigue monitor for helping teams."""
__version__ = "0.1.0"
