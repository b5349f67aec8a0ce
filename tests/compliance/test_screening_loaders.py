"""Loaders on the real list files (R10: the lists are operator data, refused whole when bad)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wholesale.compliance.screening import ListFormatError, default_list_paths, load_list, load_lists
from wholesale.compliance.screening.loaders import list_files

FIX = Path(__file__).parent / "fixtures"
# Real list files kept in the repository (CI has no ../shared); the newest ship in the package itself
# (src/wholesale/compliance/data, see its SOURCE.txt).
REF = FIX / "reference"
SHIPPED = {p.name: p for p in default_list_paths()}


def test_default_lists_ship_dpl_sdn_and_non_sdn():
    paths = default_list_paths()
    assert all(p.is_file() for p in paths)
    assert [p.name for p in paths] == ["dpl.txt", "sdn.csv", "cons_prim.csv"]
    ls = load_lists(paths)
    by_source = {v.source: v for v in ls.versions}
    assert by_source["DPL"].entry_count == 459
    assert by_source["OFAC-SDN"].entry_count == 14965
    assert by_source["OFAC-CONS"].entry_count == 442
    # The OFAC companions are found next to the prim file and are part of the version.
    assert [Path(p).name for p in by_source["OFAC-SDN"].paths] == ["sdn.csv", "add.csv", "alt.csv"]
    assert len(by_source["OFAC-CONS"].paths) == 4
    assert all(len(v.sha256) == 64 and v.loaded_at.tzinfo for v in ls.versions)


def test_shipped_sdn_hash_covers_companions(tmp_path):
    folder = SHIPPED["sdn.csv"].parent
    shipped, _ = load_list(SHIPPED["sdn.csv"])
    for f in ("sdn.csv", "add.csv", "alt.csv"):
        shutil.copy(folder / f, tmp_path / f)
    assert load_list(tmp_path / "sdn.csv")[0].sha256 == shipped.sha256
    with (tmp_path / "alt.csv").open("r+b") as fh:
        data = fh.read().replace(b"NATIONAL BANK OF CUBA", b"NATIONAL BANK OF CUBB", 1)
        fh.seek(0)
        fh.write(data)
    assert load_list(tmp_path / "sdn.csv")[0].sha256 != shipped.sha256


def test_dpl_tsv_keeps_addresses_and_derives_us():
    version, entries = load_list(SHIPPED["dpl.txt"])
    assert version.source == "DPL" and version.format == "dpl-tsv"
    naser = [e for e in entries if e.name == "AL NASER AIRLINES"]
    assert naser and naser[0].addresses
    us = [e for e in entries if e.addresses and e.addresses[0].country == "US"]
    assert us, "blank DPL country means a US address"
    assert all(e.addresses[0].postal_code for e in us[:20])


def test_sdn_with_add_alt_keeps_aliases_and_countries():
    version, entries = load_list(REF / "ofac-sdn/2021-07_sdn-add-alt/sdn.csv")
    assert version.source == "OFAC-SDN" and len(version.paths) == 4
    bnc = next(e for e in entries if e.entry_id == "306")
    assert "NATIONAL BANK OF CUBA" in bnc.aliases
    assert bnc.addresses[0].country == "CH" and bnc.addresses[0].city == "Zurich"
    assert bnc.addresses[0].postal_code == "CH-8022"
    assert bnc.entity_type == "company" and bnc.programs == ("CUBA",)
    assert any(e.entity_type == "person" for e in entries) and any(e.entity_type == "vessel" for e in entries)


def test_shipped_sdn_companies_have_addresses_and_aliases():
    _, entries = load_list(SHIPPED["sdn.csv"])
    by_id = {e.entry_id: e for e in entries}
    companies = [e for e in entries if e.entity_type == "company"]
    with_country = [e for e in companies if any(a.country for a in e.addresses)]
    assert len(companies) == 6884 and len(with_country) > 6700
    # A bank listed in Cuba: the country context now works for SDN companies.
    havin = by_id["906"]
    assert havin.name == "HAVIN BANK LIMITED" and havin.entity_type == "company"
    assert "CU" in {a.country for a in havin.addresses} and "GB" in {a.country for a in havin.addresses}
    assert next(a for a in havin.addresses if a.country == "CU").city == "Havana"
    assert "HAVANA INTERNATIONAL BANK, LTD" in havin.aliases
    # alt.csv aliases and the a.k.a. remarks of sdn.csv, each once.
    bnc = by_id["306"]
    assert bnc.aliases == ("NATIONAL BANK OF CUBA", "BNC")
    assert bnc.addresses[0].country == "CH" and bnc.addresses[0].postal_code == "CH-8022"
    vtb = by_id["17013"]
    assert {"VTB BANK PJSC", "VNESHTORGBANK", "BANK VTB PAO"} <= set(vtb.aliases)
    assert sum(len(e.aliases) for e in entries) > 21000
    assert any("RU" in e.nationalities for e in entries)


def test_list_files_names_the_companions():
    assert [p.name for p in list_files(SHIPPED["sdn.csv"])] == ["sdn.csv", "add.csv", "alt.csv"]
    assert [p.name for p in list_files(SHIPPED["cons_prim.csv"])] == [
        "cons_prim.csv",
        "cons_add.csv",
        "cons_alt.csv",
        "cons_comments.csv",
    ]
    assert list_files(SHIPPED["dpl.txt"]) == [SHIPPED["dpl.txt"]]
    for p in default_list_paths():
        assert [str(f) for f in list_files(p)] == list(load_list(p)[0].paths)


def test_sdn_without_alt_reads_aliases_from_remarks(tmp_path):
    shutil.copy(SHIPPED["sdn.csv"], tmp_path / "sdn.csv")
    version, entries = load_list(tmp_path / "sdn.csv")
    assert len(version.paths) == 1
    bnc = next(e for e in entries if e.entry_id == "306")
    assert bnc.aliases == ("BNC",) and not bnc.addresses


def test_folder_loads_consolidated_non_sdn():
    ls = load_lists([REF / "ofac-consolidated-nonsdn"])
    assert [v.source for v in ls.versions] == ["OFAC-CONS"]
    assert ls.versions[0].entry_count == 442
    assert sum(len(e.aliases) for e in ls.entries) > 500


def test_csl_csv_both_layouts():
    for name in ("consolidated_sample_2025.csv", "csl_sample_2019.csv"):
        version, entries = load_list(REF / "csl-samples" / name)
        assert version.source == "CSL" and version.format == "csl-csv"
        assert entries and all(e.source.startswith(("CSL-", "DPL", "OFAC")) for e in entries)
    _, entries = load_list(REF / "csl-samples/csl_sample_2019.csv")
    assert any(a.country for e in entries for a in e.addresses)


def test_csl_json_and_bis_csv():
    _, entries = load_list(FIX / "csl.json")
    assert {e.source for e in entries} == {"CSL-EL", "OFAC-SDN"}
    el = entries[0]
    assert el.aliases == ("Sinobright Trading",) and el.addresses[0].country == "CN"
    _, entries = load_list(FIX / "bis_dpl.csv")
    assert entries[0].name == "ALI ASGHAR MANZARPOUR"
    assert entries[0].addresses[0].country == "GB" and entries[0].addresses[0].postal_code == "W5 2LE"
    assert entries[1].entity_type == "company"


def test_bad_row_refused_with_line_number():
    with pytest.raises(ListFormatError) as err:
        load_lists([FIX / "dpl_bad_row.txt"])
    assert err.value.line == 3
    assert ":3:" in str(err.value) and "fields" in str(err.value)


def test_bad_sdn_refused_whole(tmp_path):
    src = (SHIPPED["sdn.csv"]).read_bytes().splitlines(keepends=True)
    src.insert(99, b'abc,"NOT A NUMBER",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n')
    (tmp_path / "sdn.csv").write_bytes(b"".join(src))
    with pytest.raises(ListFormatError) as err:
        load_lists([tmp_path])
    assert err.value.line == 100 and "ent_num" in err.value.message


def test_bad_alt_file_names_its_line(tmp_path):
    for f in ("sdn.csv", "alt.csv"):
        shutil.copy(REF / "ofac-sdn/2021-07_sdn-add-alt" / f, tmp_path / f)
    with (tmp_path / "alt.csv").open("ab") as fh:
        fh.write(b'36,99999,"aka"\r\n')
    with pytest.raises(ListFormatError) as err:
        load_lists([tmp_path / "sdn.csv"])
    assert err.value.path.endswith("alt.csv") and err.value.line and err.value.line > 1000


def test_unknown_format_refused(tmp_path):
    p = tmp_path / "list.csv"
    p.write_text("hello,world\n1,2\n")
    with pytest.raises(ListFormatError) as err:
        load_lists([p])
    assert err.value.line == 1
