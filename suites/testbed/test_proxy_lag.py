"""kube-proxy's programming lag, read from its metrics page and compared between two readings."""

import pytest

from testbed import proxy_lag

INF = float("inf")
BUCKET = "kubeproxy_network_programming_duration_seconds_bucket"


def page(buckets: dict[str, int]) -> str:
    lines = [
        "# HELP kubeproxy_network_programming_duration_seconds [ALPHA] In Cluster Network ...",
        "# TYPE kubeproxy_network_programming_duration_seconds histogram",
        *(f'{BUCKET}{{ip_family="IPv4",le="{le}"}} {n}' for le, n in buckets.items()),
        "kubeproxy_network_programming_duration_seconds_sum 41.5",
        'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001"} 3',
    ]
    return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + "\n".join(lines) + "\n"


def test_the_buckets_are_read_and_other_metrics_ignored() -> None:
    text = page({"1": 4, "2": 6, "5": 7, "+Inf": 9})
    assert proxy_lag.parse(text) == {1.0: 4, 2.0: 6, 5.0: 7, INF: 9}


def test_each_ip_familys_buckets_are_added() -> None:
    text = page({"1": 4, "+Inf": 9}) + (
        f'{BUCKET}{{ip_family="IPv6",le="1"}} 1\n{BUCKET}{{ip_family="IPv6",le="+Inf"}} 2\n'
    )
    assert proxy_lag.parse(text) == {1.0: 5, INF: 11}


def test_a_page_without_the_histogram_is_an_error_not_an_empty_reading() -> None:
    with pytest.raises(ValueError, match="no kubeproxy_network_programming_duration_seconds"):
        proxy_lag.parse("HTTP/1.0 200 OK\r\n\r\nprocess_cpu_seconds_total 3\n")


def test_a_page_without_the_inf_bucket_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"up to \+Inf"):
        proxy_lag.parse(page({"1": 4, "2": 6}))


def test_changes_slower_than_a_drain_are_counted_between_two_readings() -> None:
    # arrange: before the run 9 changes (2 of them over 5 s); after, 20 (5 over 5 s, 1 over 10 s)
    before = proxy_lag.parse(page({"1": 4, "2": 6, "5": 7, "10": 9, "+Inf": 9}))
    after = proxy_lag.parse(page({"1": 8, "2": 12, "5": 15, "10": 19, "+Inf": 20}))

    # act
    changes = proxy_lag.between(before, after)

    # assert: 11 changes in the run; 3 over 5 s (15-7 of 11 within), 1 over 10 s
    assert changes[INF] == 11
    assert proxy_lag.slower_than(changes, 5) == 3
    assert proxy_lag.slower_than(changes, 4) == 3  # the 5-s bucket: "surely longer" only
    assert proxy_lag.slower_than(changes, 10) == 1
    assert proxy_lag.slowest_bound(changes) == INF


def test_a_run_whose_changes_all_fit_under_a_bound_names_that_bound() -> None:
    before = proxy_lag.parse(page({"1": 4, "2": 6, "5": 7, "+Inf": 9}))
    after = proxy_lag.parse(page({"1": 5, "2": 8, "5": 9, "+Inf": 11}))
    changes = proxy_lag.between(before, after)
    assert proxy_lag.slowest_bound(changes) == 2.0
    assert proxy_lag.slower_than(changes, 1) == 1


def test_a_run_without_changes_has_no_slowest() -> None:
    reading = proxy_lag.parse(page({"1": 4, "+Inf": 9}))
    nothing = proxy_lag.between(reading, reading)
    assert proxy_lag.slowest_bound(nothing) == 0.0
    assert proxy_lag.summary([nothing], drain=5) == proxy_lag.Summary(0, 0, 0.0)


def test_a_kube_proxy_restarted_between_the_readings_counts_from_zero() -> None:
    # arrange: the second reading is lower than the first: the counters started again
    before = proxy_lag.parse(page({"1": 40, "5": 50, "+Inf": 52}))
    after = proxy_lag.parse(page({"1": 3, "5": 4, "+Inf": 6}))

    # act / assert: the restarted process's own counts, never a negative difference
    assert proxy_lag.between(before, after) == {1.0: 3, 5.0: 4, INF: 6}


def test_the_summary_adds_the_nodes_and_keeps_the_slowest() -> None:
    fast = proxy_lag.parse(page({"1": 5, "5": 5, "10": 5, "+Inf": 5}))
    slow = proxy_lag.parse(page({"1": 1, "5": 2, "10": 4, "+Inf": 4}))
    assert proxy_lag.summary([fast, slow], drain=5) == proxy_lag.Summary(9, 2, 10.0)
