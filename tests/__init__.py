"""Tests of the installable package `kubepromises`, apart from this system's suites."""
