"""`wholesale telephony load|show`: atomic replacement, line-numbered refusals, the old domain stays."""

import pytest
from typer.testing import CliRunner

from wholesale.cli import app

HEADER = "country,number,label,tollType,available\n"


@pytest.fixture
def cli(client, telephony):
    """Run the CLI in-process against the session database (the app's workers run the re-derivation job)."""
    telephony()
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _numbers(db) -> list[tuple[str, str]]:
    from wholesale.dialin.service import current_numbers

    with db.session(write=False) as s:
        return [(n.country, n.number) for n in current_numbers(s)]


def test_load_replaces_the_domain_and_show_prints_it(cli, tmp_path, db):
    path = tmp_path / "domain.csv"
    path.write_text(
        HEADER + "NZ,+6493001234,New Zealand Toll (Auckland),toll,true\nAU,+61280735099,Sydney,tollFree,false\n"
    )
    result = cli("telephony", "load", str(path))
    assert result.exit_code == 0, result.output
    assert "loaded 2 call-in numbers" in result.stderr and "dialin.rederive:" in result.stderr
    assert _numbers(db) == [("NZ", "+6493001234"), ("AU", "+61280735099")]
    shown = cli("telephony", "show")
    assert shown.exit_code == 0, shown.output
    assert "+6493001234" in shown.stdout and "New Zealand Toll (Auckland)" in shown.stdout
    assert "2 numbers" in shown.stdout and "tollFree" in shown.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HEADER + "US,+14085550142,ok,toll,true\nUS,+1408555,short,toll,true\n", ["line 3: number '+1408555'"]),
        (HEADER + "XX,+14085550142,nowhere,toll,true\n", ["line 2: unknown country 'XX'"]),
        ("country;number;label;tollType;available\n", ["line 1: header must be exactly"]),
        ("", ["line 1: file is empty"]),
        (
            HEADER + "FR,+33170918646,Paris,toll,true\nQQ,+1,x,toll,true\nFR,+33170918646,Paris again,toll,true\n",
            ["line 3: unknown country 'QQ'", "line 4: duplicate number +33170918646 for FR (first on line 2)"],
        ),
    ],
    ids=["bad-number", "unknown-country", "wrong-header", "empty", "several"],
)
def test_a_bad_file_is_refused_whole_with_line_numbers(cli, tmp_path, db, content, expected):
    before = _numbers(db)
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = cli("telephony", "load", str(path))
    assert result.exit_code == 1
    assert "old telephony domain stays in force" in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{path}: ")]
    assert len(lines) == len(expected), result.stderr
    for line, prefix in zip(lines, expected, strict=False):
        assert line.removeprefix(f"{path}: ").startswith(prefix), result.stderr
    assert result.stdout == ""
    assert _numbers(db) == before


def test_a_missing_file_exits_1(cli, tmp_path, db):
    before = _numbers(db)
    result = cli("telephony", "load", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and "cannot read" in result.stderr
    assert _numbers(db) == before


def test_the_demo_domain_loads(cli, tmp_path, db):
    from wholesale.dialin.telephony import read_demo_csv

    path = tmp_path / "demo.csv"
    path.write_text(read_demo_csv())
    assert cli("telephony", "load", str(path)).exit_code == 0
    assert ("NZ" not in {c for c, _ in _numbers(db)}) and len(_numbers(db)) == len(
        read_demo_csv().strip().splitlines()
    ) - 1
