"""Fraud detection: transparent rules, an ML ensemble and a reason for every verdict."""
