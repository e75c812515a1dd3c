"""The guard on the live suite's destructive checks (`kubepromises.guard`, the plugin's
`--allow-destructive` and `destructive` fixture): its decisions without a cluster, then in inner
pytest runs with a kubeconfig written here, where a check that would change the cluster writes a
file instead, so "changes nothing" is something to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubepromises import guard
from tests.kubepromises.example import SHOP_DRAWING

pytest_plugins = ["pytester"]

KUBECONFIG = {
    "current-context": "kind-shop",
    "contexts": [{"name": "kind-shop"}, {"name": "production"}],
}


# -- the decisions -------------------------------------------------------------------------------


def test_without_the_flag_the_checks_are_not_verified_on_this_target_saying_how_to_allow_them() -> (
    None
):
    reason = guard.refusal(None, "kind-shop", "shop")
    assert reason is not None
    assert reason.startswith("not verified on this target: ")
    assert "--allow-destructive=kind-shop" in reason


def test_the_flag_naming_the_context_checked_allows_them() -> None:
    assert guard.refusal("kind-shop", "kind-shop", "shop") is None


def test_a_flag_naming_another_context_is_an_error_naming_both() -> None:
    with pytest.raises(guard.GuardError) as caught:
        guard.refusal("production", "kind-shop", "shop")
    assert "--allow-destructive=production" in str(caught.value)
    assert "(kind-shop)" in str(caught.value)


def test_a_flag_without_a_kubeconfig_to_compare_with_is_an_error() -> None:
    with pytest.raises(guard.GuardError, match="no --live-kubeconfig"):
        guard.refusal("kind-shop", None, "shop")


def test_without_flag_or_kubeconfig_they_are_not_verified() -> None:
    reason = guard.refusal(None, None, "shop")
    assert reason is not None
    assert reason.startswith(guard.NOT_VERIFIED)


@pytest.mark.parametrize("namespace", sorted(guard.CLUSTER_NAMESPACES))
def test_a_namespace_the_cluster_keeps_for_itself_is_refused_even_with_the_flag(
    namespace: str,
) -> None:
    reason = guard.refusal("kind-shop", "kind-shop", namespace)
    assert reason is not None
    assert f"namespace {namespace!r}" in reason


def test_the_context_checked_is_the_chosen_one_else_the_current_one() -> None:
    assert guard.context_of(KUBECONFIG, None, "k") == "kind-shop"
    assert guard.context_of(KUBECONFIG, "production", "k") == "production"


@pytest.mark.parametrize(
    ("kubeconfig", "chosen", "words"),
    [
        ({"contexts": [{"name": "a"}]}, None, "names no current context"),
        (KUBECONFIG, "staging", "has no context 'staging' (its contexts: kind-shop, production)"),
        ({**KUBECONFIG, "current-context": "gone"}, None, "has no context 'gone'"),
    ],
)
def test_a_context_the_kubeconfig_cannot_name_is_an_error(
    kubeconfig: dict[str, object], chosen: str | None, words: str
) -> None:
    with pytest.raises(guard.GuardError) as caught:
        guard.context_of(kubeconfig, chosen, "k")
    assert words in str(caught.value)


@pytest.mark.parametrize("text", ["[not, a, mapping]", "key: [unclosed"])
def test_a_file_that_is_no_kubeconfig_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(guard.GuardError, match="config"):
        guard.read_context(path)


# -- in a run ------------------------------------------------------------------------------------

#: A destructive check: it would change the cluster; here it leaves a file behind.
DESTRUCTIVE_TEST = """
import pathlib
import pytest

@pytest.mark.usefixtures("destructive")
def test_changes_the_cluster():
    pathlib.Path("changed").write_text("yes")
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner run on the shop's drawing and a kubeconfig of two contexts (kind-shop current)."""
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(
        "current-context: kind-shop\ncontexts:\n- name: kind-shop\n- name: production\n"
    )
    pytester.makepyfile(test_it=DESTRUCTIVE_TEST)
    return pytester.runpytest_inprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-rs",
        f"--drawing={SHOP_DRAWING}",
        f"--live-kubeconfig={kubeconfig}",
        *args,
    )


def test_a_run_without_the_flag_reports_the_check_not_verified_and_changes_nothing(
    pytester: pytest.Pytester,
) -> None:
    result = run(pytester)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*not verified on this target: *--allow-destructive=kind-shop to let them change*"]
    )
    assert not (pytester.path / "changed").exists()


def test_a_run_with_the_flag_naming_the_context_checked_runs_the_check(
    pytester: pytest.Pytester,
) -> None:
    result = run(pytester, "--allow-destructive=kind-shop")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "changed").read_text() == "yes"


def test_a_run_with_the_flag_naming_another_context_stops_before_any_test(
    pytester: pytest.Pytester,
) -> None:
    result = run(pytester, "--allow-destructive=production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--allow-destructive=production names another context than the one checked "
            "(kind-shop); nothing was run*"
        ]
    )
    assert not (pytester.path / "changed").exists()


def test_the_flag_follows_the_chosen_context(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--live-context=production", "--allow-destructive=production")
    result.assert_outcomes(passed=1)
