"""A backend plugin for xprop, installed by the tests only."""
