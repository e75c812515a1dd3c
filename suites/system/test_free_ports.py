"""The local stack's servers get ports no one else takes before they bind them: below the
kernel's ephemeral range (where outgoing connections and binds to port 0 take theirs), and
never the same twice (the campaign's stack lost inventory-service to "address already in use"
when its port came from that range, 6 Dec 2026)."""

from suites.system import servers


def test_ports_come_from_below_the_ephemeral_range_and_never_twice() -> None:
    # act
    ports = [servers.free_port() for _ in range(50)]

    # assert
    ephemeral = servers.ephemeral_ports()
    assert len(set(ports)) == len(ports), ports
    assert all(1024 <= port < ephemeral.start for port in ports), (ephemeral, ports)
