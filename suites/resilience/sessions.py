"""PostgreSQL sessions whose client is gone.

A client that vanishes without a word (its pod deleted while cut off from the database, a node
lost) sends no FIN and no reset: the server keeps its session, and the backend process and
connection slot that go with it, until TCP tells it the peer is gone. For an idle connection
that is the keepalive probes; for one with an answer still unacknowledged, the retransmission
timeout. With the kernel's defaults that is two hours, or about fifteen minutes, so a campaign
of faults would pile such sessions up until `max_connections` refuses the services. The services'
roles bound both (manifests/base/postgres-init/app-role.psql); the live checks read what is left.

A session's client is gone when no pod of the namespace holds its address, or when the pod that
holds it now was made after the session began (a new pod got the address of a deleted one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from suites.resilience.live import psql, selector
from testbed.cluster import Testbed
from testbed.kube import Kube

#: Every session that came over TCP, as one JSON object per line (any text survives).
SESSIONS_SQL = (
    "SELECT row_to_json(s)::text FROM (SELECT pid, usename AS user,"
    " application_name AS application, client_addr::text AS client, client_port AS port, state,"
    " extract(epoch FROM backend_start)::float8 AS began"
    " FROM pg_stat_activity WHERE client_addr IS NOT NULL) s"
)


@dataclass(frozen=True)
class Session:
    database: str
    pid: int
    user: str
    application: str
    client: str
    port: int
    state: str
    began: datetime

    def __str__(self) -> str:
        return (
            f"{self.database}: pid {self.pid}, {self.user} ({self.application or 'no name'}) "
            f"from {self.client}:{self.port}, {self.state or 'no state'}, "
            f"began {self.began:%H:%M:%S}"
        )


def parsed(database: str, lines: str) -> list[Session]:
    """The sessions in the output of SESSIONS_SQL run in `database`'s server."""
    sessions = []
    for line in lines.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        sessions.append(
            Session(
                database=database,
                pid=int(row["pid"]),
                user=str(row["user"]),
                application=str(row["application"] or ""),
                client=str(row["client"]).split("/")[0],
                port=int(row["port"]),
                state=str(row["state"] or ""),
                began=datetime.fromtimestamp(float(row["began"]), UTC),
            )
        )
    return sessions


def pod_addresses(kube: Kube) -> dict[str, datetime]:
    """Each address a pod of the namespace holds now, and when that pod was made."""
    return {
        str(pod.status.pod_ip): pod.metadata.creation_timestamp
        for pod in kube.pods()
        if pod.status.pod_ip
    }


def of_gone_clients(sessions: list[Session], pods: Mapping[str, datetime]) -> list[Session]:
    """The sessions whose client is gone: no pod holds their address, or the pod holding it
    was made after the session began."""
    return [s for s in sessions if s.client not in pods or pods[s.client] > s.began]


def run_sql(testbed: Testbed, kube: Kube, database: str, sql: str) -> str:
    """`sql` run by psql as the administrator in a Ready pod of the database; its output."""
    pod = kube.ready_pods(selector(database))[0].metadata.name
    return testbed.kubectl(
        "exec",
        "-i",
        "-n",
        kube.namespace,
        pod,
        "--",
        *psql("postgres"),
        timeout=60,
        stdin=sql.encode(),
    )


def read(testbed: Testbed, kube: Kube, database: str) -> list[Session]:
    """The TCP sessions of the database's server now."""
    return parsed(database, run_sql(testbed, kube, database, SESSIONS_SQL))


def end_sessions_from(testbed: Testbed, kube: Kube, database: str, address: str) -> None:
    """Every session of the database's server whose client is at `address` ended."""
    run_sql(
        testbed,
        kube,
        database,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_addr = '{address}'",
    )
