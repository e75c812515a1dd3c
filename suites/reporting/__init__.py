"""What this system adds to kubepromises' report (the testbed's mode, diagnostics and timelines
in each test's row), and the CLIs on a run's promises.json: merge, gate, checklist."""
