"""An operator's mistakes on the command line: every one gets a single `curator: error:` line
(or click's usage message) naming the offending input and what to do, the documented exit
status (:class:`curator.cli._errors.ExitCode`) and no Python traceback."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from curator.build.seed import commit_records
from curator.cli import cli
from curator.cli._app import LAZY_COMMANDS
from curator.cli._errors import ExitCode
from curator.datarepo import DataRepo
from tests.build.conftest import record
from tests.conftest import RepoFactory
from tests.review.conftest import override_bytes, plugin_override, write


def invoke(*args: str) -> Result:
    """Run the CLI; a user mistake ends in SystemExit (a clean exit), never another exception."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"curator {' '.join(args)} raised instead of exiting") from (
            result.exception
        )
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def repo(new_data_repo: RepoFactory) -> DataRepo:
    data = new_data_repo()
    commit_records(data, [record("example")])
    return data


def built_storage(repo: DataRepo, tmp_path: Path) -> Path:
    storage = tmp_path / "storage"
    result = invoke("--repo", str(repo.store.path), "--storage", str(storage), "build")
    assert result.exit_code == 0, result.stderr
    return storage


# --- the data repository ------------------------------------------------------------------


def test_a_missing_repository_says_so_and_how_to_name_one(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    result = invoke("--repo", str(missing), "log")
    assert result.exit_code == ExitCode.DATA
    assert result.stderr == (
        f"curator: error: {missing} does not exist: give --repo DIR (or set CURATOR_REPO) "
        "naming a data repository, or create one with `curator init DIR`\n"
    )
    result = invoke("--repo", str(tmp_path), "build")
    assert result.exit_code == ExitCode.DATA
    assert result.stderr.startswith(f"curator: error: {tmp_path} is not a git repository")
    assert "give --repo DIR (or set CURATOR_REPO)" in result.stderr


def test_a_bad_global_prefix_is_a_usage_error(repo: DataRepo) -> None:
    result = invoke("--repo", str(repo.store.path), "--prefix", "../elsewhere", "log")
    assert result.exit_code == ExitCode.USAGE
    assert "Invalid value for --prefix: '../elsewhere' is not a path inside" in result.stderr


def test_an_unknown_ref_is_named(repo: DataRepo) -> None:
    for command in ("log", "validate", "build"):
        result = invoke("--repo", str(repo.store.path), "--ref", "no-such-branch", command)
        assert result.exit_code == ExitCode.USAGE, command
        assert result.stderr.startswith(
            "curator: error: --ref: unknown revision 'no-such-branch'"
        ), command


def test_build_of_an_unknown_commit_names_the_option(repo: DataRepo, tmp_path: Path) -> None:
    for rev in ("deadbeef", "0" * 40):
        result = invoke(
            "--repo", str(repo.store.path), "build", "--commit", rev, "--out", str(tmp_path / "o")
        )
        assert result.exit_code == ExitCode.USAGE, rev
        assert result.stderr.startswith(f"curator: error: --commit: unknown revision {rev!r}")
    assert not (tmp_path / "o").exists()


def test_build_with_a_bad_override_points_at_validate(repo: DataRepo, tmp_path: Path) -> None:
    head = write(repo, {plugin_override(): override_bytes(require={"php": ">>7"})})
    result = invoke("--repo", str(repo.store.path), "build", "--out", str(tmp_path / "o"))
    assert result.exit_code == ExitCode.DATA
    lines = result.stderr.splitlines()
    assert lines[0] == "curator: error: bad override file(s):"
    assert "overrides/plugins/example.json" in lines[1]
    assert lines[-1] == "  (`curator validate` lists every problem)"
    result = invoke(
        "--repo", str(repo.store.path), "build", "--commit", head[:10], "--out", str(tmp_path / "o")
    )
    assert result.stderr.splitlines()[-1] == (
        f"  (`curator validate --commit {head[:10]}` lists every problem)"
    )


# --- init ---------------------------------------------------------------------------------


def test_init_rejects_bad_input_before_writing_anything(tmp_path: Path) -> None:
    target = tmp_path / "data"
    result = invoke("init", str(target), "--prefix", "../x")
    assert result.exit_code == ExitCode.USAGE
    assert "Invalid value for --prefix: '../x' is not a path inside" in result.stderr
    result = invoke("init", str(target), "--upstream", "localhost:8080")
    assert result.exit_code == ExitCode.USAGE
    assert "Invalid value for --upstream: not an absolute http(s) URL: 'localhost:8080'" in (
        result.stderr
    )
    assert not target.exists()


def test_init_never_writes_into_a_directory_that_holds_something(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README").write_text("mine\n")
    result = invoke("init", str(project))
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        f"curator: error: {project}: exists and is not an empty directory (the data "
        "repository is a bare git repository of its own: give a new directory)\n"
    )
    assert sorted(p.name for p in project.iterdir()) == ["README"]
    assert invoke("init", str(tmp_path / "data")).exit_code == ExitCode.OK
    result = invoke("init", str(tmp_path / "data"))  # already a data repository
    assert result.exit_code == ExitCode.USAGE
    assert "exists and is not an empty directory" in result.stderr


def test_init_where_no_directory_can_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "data"
    result = invoke("init", str(target))
    assert result.exit_code == ExitCode.DATA
    assert result.stderr.startswith(
        f"curator: error: cannot create the data repository in {target}: "
    )


# --- sync and pipeline --------------------------------------------------------------------


def test_a_malformed_upstream_is_a_usage_error_not_an_outage(repo: DataRepo) -> None:
    for command in ("sync", "pipeline"):
        result = invoke("--repo", str(repo.store.path), command, "--upstream", "notaurl")
        assert result.exit_code == ExitCode.USAGE, command
        assert "Invalid value for --upstream: not an absolute http(s) URL: 'notaurl'" in (
            result.stderr
        )


def test_pipeline_checks_its_deploy_target_before_syncing(repo: DataRepo, tmp_path: Path) -> None:
    head = repo.head()
    result = invoke(
        "--repo",
        str(repo.store.path),
        "--storage",
        str(tmp_path / "storage"),
        "pipeline",
        "--upstream",
        "http://127.0.0.1:1",  # unreachable: reaching the sync would exit 4
        "--to",
        "https://bucket.example/prefix",
    )
    assert result.exit_code == ExitCode.USAGE
    assert "Invalid value for --to: expected s3://bucket[/prefix]" in result.stderr
    assert repo.head() == head
    assert not (tmp_path / "storage" / "repository").exists()


# --- storage and builds -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["deploy", "../../etc"], ["rollback", "../x"], ["verify", "--build", ".hidden"]],
)
def test_a_malformed_build_id_is_a_usage_error(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "storage").mkdir()
    result = invoke("--storage", str(tmp_path / "storage"), *args)
    assert result.exit_code == ExitCode.USAGE
    assert "invalid build id" in result.stderr
    assert "`curator builds` lists them" in result.stderr


def test_an_unknown_build_names_the_storage(repo: DataRepo, tmp_path: Path) -> None:
    storage = built_storage(repo, tmp_path)
    for args in (["deploy", "20990101T000000Z-x"], ["rollback", "20990101T000000Z-x"]):
        result = invoke("--storage", str(storage), *args)
        assert result.exit_code == ExitCode.USAGE
        assert result.stderr == (
            f"curator: error: no build '20990101T000000Z-x' in "
            f"{storage / 'repository' / 'builds'} (`curator builds` lists them)\n"
        )


@pytest.mark.parametrize("args", [["builds"], ["rollback"], ["cleanup"], ["verify"], ["deploy"]])
def test_a_storage_directory_that_does_not_exist(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "typo"
    result = invoke("--storage", str(missing), *args)
    assert result.exit_code == ExitCode.DATA
    assert result.stderr == (
        f"curator: error: storage directory {missing} does not exist: give --storage DIR "
        "(or set CURATOR_STORAGE) naming the one `curator build` writes to\n"
    )
    assert not missing.exists()


# --- help ---------------------------------------------------------------------------------


def _commands(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    if not isinstance(command, click.Group):
        return [(path, command)]
    ctx = click.Context(command)
    found: list[tuple[list[str], click.Command]] = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        assert sub is not None
        found += _commands(sub, [*path, name])
    return found


def test_every_option_of_the_curator_commands_is_explained() -> None:
    ctx = click.Context(cli)
    missing = []
    for name, target in LAZY_COMMANDS.items():
        if not target.startswith("curator."):  # server/ commands have their own owners
            continue
        command = cli.get_command(ctx, name)
        assert command is not None
        for path, leaf in _commands(command, [name]):
            assert leaf.help, path
            missing += [
                f"curator {' '.join(path)} {param.opts[0]}"
                for param in leaf.params
                if isinstance(param, click.Option) and not param.help
            ]
    assert missing == []


def test_the_group_help_documents_every_exit_code() -> None:
    out = invoke("--help").stdout
    section = out.split("Exit codes:")[1].split("Options:")[0]
    codes = [line.split()[0] for line in section.splitlines() if line[:5].strip().isdigit()]
    assert codes == [str(int(code)) for code in ExitCode]
    assert "verify found mismatches" in section


def test_an_output_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.jsonl"
    result = CliRunner().invoke(cli, ["versions", "normalize", "-o", str(target)], input="1.0\n")
    assert result.exit_code == ExitCode.USAGE
    assert f"Invalid value for '-o' / '--output': '{target}': No such file" in result.stderr
