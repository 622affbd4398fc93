"""The pull-request rules (curator.review.policy) on real commits: every path kind, trustees
read from the base, changes to trustees.json and CODEOWNERS, and broken inputs."""

from __future__ import annotations

import pytest

from curator import canonical
from curator.build.seed import commit_records
from curator.datarepo import DataError, DataRepo
from curator.models import RegistryConfig
from curator.review.policy import PolicyError, Role, check_pull_request
from curator.review.rules import RULES, Owner, rule_for
from curator.sync import DEFAULT_AUTHOR
from tests.conftest import RepoFactory
from tests.review.pr_helpers import (
    BOT,
    OTHER,
    TRUSTEE,
    config_files,
    make_registry,
    open_pr,
    override,
    sample_records,
    trustees_data,
)

CF7 = "overrides/plugins/contact-form-7.json"


@pytest.fixture
def registry(new_data_repo: RepoFactory) -> DataRepo:
    return make_registry(new_data_repo)


def base_of(repo: DataRepo) -> str:
    head = repo.head()
    assert head is not None
    return head


def findings(repo: DataRepo, head: str, author: str) -> list[tuple[str, str, str | None]]:
    report = check_pull_request(repo, base_of(repo), head, author)
    return [(f.path, f.rule, f.field) for f in report.findings]


@pytest.mark.parametrize(
    ("rel", "rule", "owner"),
    [
        ("overrides/plugins/akismet.json", "overrides", Owner.TRUSTEES),
        ("overrides/anything/else.txt", "overrides", Owner.TRUSTEES),  # validate names it
        ("registry.json", "registry-config", Owner.TRUSTEES),
        ("trustees.json", "trustees", Owner.TRUSTEES),
        ("CODEOWNERS", "codeowners", Owner.TRUSTEES),
        ("README.md", "readme", Owner.TRUSTEES),
        (".github/workflows/x.yml", "github", Owner.TRUSTEES),
        ("packages/plugins/ak/akismet.json", "synced-data", Owner.BOT),
        ("state/sync.json", "sync-state", Owner.BOT),
    ],
)
def test_every_listed_path_has_one_owner(rel: str, rule: str, owner: Owner) -> None:
    found = rule_for(rel)
    assert found is not None and (found.name, found.owner) == (rule, owner)


@pytest.mark.parametrize(
    "rel",
    [
        "notes.txt",
        "overrides",  # a file named like the folder
        "registry.json.bak",
        "packagesx/a.json",
        "overrides/../packages/x.json",
        "overrides//x.json",
        "./registry.json",
        "overrides\\plugins\\x.json",
        "CODEOWNERS/x",
    ],
)
def test_anything_else_has_no_rule(rel: str) -> None:
    assert rule_for(rel) is None


def test_rules_name_each_pattern_once() -> None:
    assert len({r.pattern for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


def test_a_trustee_may_change_overrides_and_configuration(registry: DataRepo) -> None:
    head = open_pr(
        registry,
        {
            CF7: override(abandoned=True),
            "registry.json": canonical.dumps(
                RegistryConfig(name="Another name").model_dump(mode="json")
            ),
            "README.md": b"# notes\n",
        },
    )
    report = check_pull_request(registry, base_of(registry), head, TRUSTEE.upper())
    assert report.ok, report.findings
    assert report.role is Role.TRUSTEE  # logins compare case-insensitively
    assert [(c.rule, c.status, c.allowed) for c in report.changes] == [
        ("readme", "A", True),
        ("overrides", "A", True),
        ("registry-config", "M", True),
    ]
    assert report.validation is not None and report.validation.files == 1


def test_deleting_a_record_is_a_change_to_packages(registry: DataRepo) -> None:
    head = open_pr(registry, {"packages/plugins/ak/akismet.json": None})
    assert findings(registry, head, TRUSTEE) == [
        ("registry-data/packages/plugins/ak/akismet.json", "synced-data", None)
    ]
    assert check_pull_request(registry, base_of(registry), head, BOT).ok


def test_unlisted_paths_are_rejected_for_everyone(registry: DataRepo) -> None:
    head = open_pr(registry, {"notes.txt": b"hi\n", "packages/README": b"x\n"})
    for author in (TRUSTEE, BOT, OTHER):
        assert ("registry-data/notes.txt", "unlisted-path", None) in findings(
            registry, head, author
        )


def test_a_pull_request_cannot_make_its_author_a_trustee(registry: DataRepo) -> None:
    files = config_files(TRUSTEE, OTHER)
    head = open_pr(registry, {**files, CF7: override(require={"php": ">=8.1"})})
    found = findings(registry, head, OTHER)
    assert found == [
        ("registry-data/CODEOWNERS", "codeowners", None),
        (f"registry-data/{CF7}", "overrides", None),
        ("registry-data/trustees.json", "trustees", None),
    ]
    # the same change by a trustee is fine, and later pull requests by the new trustee too
    assert check_pull_request(registry, base_of(registry), head, TRUSTEE).ok
    registry.store.update_ref(registry.ref, base_of(registry), head)  # merged
    later = open_pr(registry, {CF7: override(abandoned=True)}, branch="later")
    assert check_pull_request(registry, head, later, OTHER).ok


def test_a_changed_trustees_file_must_be_valid_and_codeowners_must_follow(
    registry: DataRepo,
) -> None:
    bad = trustees_data(TRUSTEE)
    bad["trustees"].append({"login": "bad login"})
    bad["bot"]["extra"] = 1
    head = open_pr(registry, {"trustees.json": canonical.dumps(bad)})
    assert findings(registry, head, TRUSTEE) == [
        ("registry-data/trustees.json", "trustees-file", "trustees.1.login"),
        ("registry-data/trustees.json", "trustees-file", "bot.extra"),
    ]
    # valid, but CODEOWNERS not regenerated
    stale = open_pr(
        registry,
        {"trustees.json": canonical.dumps(trustees_data(TRUSTEE, "bob"))},
        branch="stale",
    )
    report = check_pull_request(registry, base_of(registry), stale, TRUSTEE)
    assert [(f.path, f.rule) for f in report.findings] == [
        ("registry-data/CODEOWNERS", "codeowners")
    ]
    assert "run `curator ci codeowners`" in report.findings[0].message
    # a hand edit of CODEOWNERS alone is caught the same way
    edited = open_pr(registry, {"CODEOWNERS": b"/overrides/ @mallory\n"}, branch="edited")
    assert findings(registry, edited, TRUSTEE) == [("registry-data/CODEOWNERS", "codeowners", None)]
    # and the trustees file cannot be deleted
    gone = open_pr(registry, {"trustees.json": None}, branch="gone")
    assert ("registry-data/trustees.json", "trustees-file", None) in findings(
        registry, gone, TRUSTEE
    )


def test_a_duplicate_key_or_bad_json_in_trustees_json_is_named(registry: DataRepo) -> None:
    dup = b'{"bot": {"login": "a", "git_author": "a <a@b>"}, "trustees": [], "trustees": []}'
    head = open_pr(registry, {"trustees.json": dup})
    report = check_pull_request(registry, base_of(registry), head, TRUSTEE)
    first = report.findings[0]
    assert (first.rule, first.field, first.message) == (
        "trustees-file",
        "<file>",
        'duplicate key "trustees" (only the last one would count)',
    )
    broken = open_pr(registry, {"trustees.json": b"{"}, branch="broken")
    report = check_pull_request(registry, base_of(registry), broken, TRUSTEE)
    assert report.findings[0].message.startswith("not valid JSON")


def test_without_trustees_at_the_base_nobody_may_change_anything(
    new_data_repo: RepoFactory,
) -> None:
    repo = new_data_repo(prefix="registry-data/")
    head = open_pr(repo, {"README.md": b"x\n", "state/sync.json": b"{}\n"})
    report = check_pull_request(repo, base_of(repo), head, BOT)
    assert not report.trustees_found and report.role is Role.OTHER
    assert [f.rule for f in report.findings] == ["readme", "sync-state"]
    assert "there is no trustees.json at the base commit" in report.findings[0].message


def test_an_invalid_trustees_file_at_the_base_is_a_data_error(registry: DataRepo) -> None:
    registry_head = open_pr(registry, {"trustees.json": b"[]\n"}, branch="x")
    registry.store.update_ref(registry.ref, base_of(registry), registry_head)
    head = open_pr(registry, {CF7: override()}, branch="y")
    with pytest.raises(DataError, match=r"registry-data/trustees.json: <file>: Input should be"):
        check_pull_request(registry, registry_head, head, TRUSTEE)


def test_a_broken_registry_json_at_the_head_is_a_finding(registry: DataRepo) -> None:
    head = open_pr(registry, {"registry.json": b'{"vendors": 1}\n'})
    report = check_pull_request(registry, base_of(registry), head, TRUSTEE)
    assert [(f.path, f.rule) for f in report.findings] == [("registry-data/", "validate")]
    assert "registry.json" in report.findings[0].message


def test_unrelated_histories_cannot_be_checked(registry: DataRepo) -> None:
    other = DataRepo(registry.store, registry.prefix, "refs/heads/orphan")
    orphan = other.commit(
        parent=None,
        changes={"registry.json": b"{}\n"},
        message="orphan\n",
        author=DEFAULT_AUTHOR,
        timestamp=1,
    )
    assert orphan is not None
    with pytest.raises(PolicyError, match="share no history"):
        check_pull_request(registry, base_of(registry), orphan, TRUSTEE)


def test_a_data_only_repository_works_the_same(new_data_repo: RepoFactory) -> None:
    repo = new_data_repo(prefix="")
    commit_records(repo, sample_records()[:3], extra=config_files(TRUSTEE))
    head = open_pr(repo, {"overrides/plugins/akismet.json": override(abandoned=True)})
    report = check_pull_request(repo, base_of(repo), head, TRUSTEE)
    assert report.ok, report.findings
    assert [c.path for c in report.changes] == ["overrides/plugins/akismet.json"]
    assert not check_pull_request(repo, base_of(repo), head, OTHER).ok
