"""Locust load scenarios against the API gateway: browse, shopper and mixed (docs/load.md)."""
