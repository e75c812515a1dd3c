"""The fault campaign: generated client operations against the gateway while a nemesis kills
processes on a schedule, every operation recorded in a history, and a checker that judges the
history and the final state of the databases (Jepsen's method, on the local stack).

- `generator`: a seeded stream of operations (orders at the edges of every limit, repeats,
  key reuse, concurrent retries, reads) and each one's expected answer;
- `nemesis`: the fault schedule and the faults (SIGKILL / stop signal to a process group);
- `history`: what was asked, when, and what came back (or did not);
- `runner`: runs the operations and the nemesis together, then resolves the uncertain ones;
- `state`: the final state read from PostgreSQL, FerretDB and the API;
- `checker`: pure functions from history and state to violation sentences;
- `shrink`: the part of a failing history that concerns the anomalies.
"""
