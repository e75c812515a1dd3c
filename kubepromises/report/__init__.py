"""The promise matrix: a drawing's promises judged by the session's tests, and its report.

`matrix` (the rows, from the drawing's promises file), `status` (outcomes to verdicts, pure),
`collection` (claims resolved against the run's collection, pure), `render` (HTML, JSON, text)
and `plugin` (the pytest side, registered by `kubepromises.plugin`).
"""
