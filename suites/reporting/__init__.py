"""The report plugin: the promise matrix first, diagnostics and timelines in each test's row."""
