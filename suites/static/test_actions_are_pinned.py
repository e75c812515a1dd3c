"""Every GitHub Action the workflows use is pinned to a commit: a tag can be moved, a commit
cannot. The tag stays beside it as a comment, for people and for update tools."""

from suites.static.checks.supply_chain import read_workflows, unpinned_actions
from suites.static.controls import assert_caught, assert_holds
from testbed.settings import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def test_every_action_is_pinned_to_a_commit() -> None:
    workflows = read_workflows(WORKFLOWS)
    assert workflows, f"no workflow in {WORKFLOWS}"
    assert_holds(unpinned_actions(workflows))


def test_an_action_pinned_by_tag_is_caught() -> None:
    # arrange: the real workflows, one step pinned by its tag again
    workflows = read_workflows(WORKFLOWS)
    name, text = next(iter(workflows.items()))
    workflows[name] = text + "      - uses: actions/checkout@v4\n"
    # act / assert
    assert_caught(unpinned_actions(workflows), "uses actions/checkout@v4, not pinned")


def test_a_short_sha_and_a_branch_are_caught() -> None:
    workflows = {
        "w.yml": "steps:\n  - uses: actions/setup-go@40f1582\n  - uses: owner/action@main\n"
    }
    assert unpinned_actions(workflows) == [
        "w.yml:2 uses actions/setup-go@40f1582, not pinned to a 40-hex commit SHA",
        "w.yml:3 uses owner/action@main, not pinned to a 40-hex commit SHA",
    ]
