"""Code shared by the four services: logging, request ids, health, errors, settings, runner."""
