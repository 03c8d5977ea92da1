"""Uploads through the app: files written privately, loaded by the same loader into the
authority's own store (never the demo's), temporary files removed, problems shown without
identifying anyone; and the Data page's upload section (AppTest cannot upload: the browser test
drives the real upload)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from framework import cli, upload
from framework.config import load_settings
from framework.load import load_files
from framework.privacy import Pseudonymiser
from framework.store import store
from framework.upload import load_uploaded, progress_words, safe_name

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KEY = "a test key that is long enough"
AREAS = (
    "area_code,area_name,ward_code,ward_name,locality,imd_decile,idaci_decile,children_0_17\n"
    "X01000001,Demoton 001A,X05000001,Ward One,Northmere,1,2,350\n"
    "X01000002,Demoton 001B,X05000001,Ward One,Northmere,10,9,410\n"
)
ADDRESSES = (
    "child_id,postcode,from_date\n"
    "KID7001QZ,QX1 1AB,2023-04-01\n"
    "KID7002QZ,QX1 2CD,31/02/2024\n"  # row 2: impossible date -> set aside
    "KID7003QZ,QX1 2CD,2023-06-01\n"
)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """The project's settings, with the authority's store, the demo's and the key file in
    tmp_path; the key in the environment, as the command line would find it."""
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", KEY)
    return dataclasses.replace(
        load_settings(REPO / "config.toml"),
        store_path=tmp_path / "own.duckdb",
        demo_store=tmp_path / "demo.duckdb",
        key_file=tmp_path / "absent.key",
    )


@pytest.fixture
def temp_root(tmp_path) -> Path:
    """Where the uploads' temporary folders go, to see that each is removed."""
    root = tmp_path / "temporary"
    root.mkdir()
    return root


def files_of(*paths: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


def count(store_path: Path, table: str) -> int:
    con = store.connect(store_path, read_only=True)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0]
    finally:
        con.close()


def snapshot(store_path: Path) -> dict[str, int]:
    return {t: count(store_path, t) for t in ("loads", "load_files", "ref_areas", "episodes")}


# --- load_uploaded --------------------------------------------------------------------------


def test_uploaded_returns_land_in_the_authoritys_store(settings, temp_root):
    census = FIXTURES / "cin" / "valid_2024-25_sex.xml"
    ssda903 = sorted((FIXTURES / "ssda903" / "valid_2024_25").glob("*.csv"))
    outcome = load_uploaded(
        files_of(census, *ssda903), settings=settings, collection_year=2025, temp_root=temp_root
    )
    assert outcome.status == "loaded", outcome.message
    assert outcome.store_path == settings.store_path
    assert count(settings.store_path, "referrals") > 0
    assert count(settings.store_path, "episodes") > 0
    files = outcome.files().set_index("file")
    assert set(files.index) == {census.name, *(p.name for p in ssda903)}
    assert (files["outcome"] == "loaded").all()
    assert files.loc["episodes.csv", "read as"] == "ssda903 2024-25"
    assert files.loc["episodes.csv", "loaded"] == files.loc["episodes.csv", "records read"]
    assert list(temp_root.iterdir()) == []  # the uploaded copies are gone
    assert not settings.demo_store.exists()  # nothing goes near the demo
    # The store's history names the files as uploaded, not their temporary copies.
    con = store.connect(settings.store_path, read_only=True)
    try:
        names = {n for (n,) in con.execute("SELECT file_name FROM load_files").fetchall()}
    finally:
        con.close()
    assert census.name in names and not any("/" in n for n in names)


def test_the_same_upload_again_changes_nothing(settings, temp_root):
    given = [("areas.csv", AREAS.encode())]
    assert load_uploaded(given, settings=settings, temp_root=temp_root).loaded
    before = snapshot(settings.store_path)
    again = load_uploaded(given, settings=settings, temp_root=temp_root)
    assert again.status == "unchanged"
    assert again.files()["outcome"].tolist() == [
        "unchanged: identical to a file of load 1; not read again"
    ]
    assert snapshot(settings.store_path) == before
    assert list(temp_root.iterdir()) == []


def test_a_path_in_the_name_is_reduced_to_the_file_name(settings, temp_root, tmp_path):
    outcome = load_uploaded(
        [("../../etc/x.csv", AREAS.encode()), ("..\\..\\windows\\y.csv", ADDRESSES.encode())],
        settings=settings,
        temp_root=temp_root,
    )
    assert outcome.loaded, outcome.message
    assert set(outcome.files()["file"]) == {"x.csv", "y.csv"}
    assert count(settings.store_path, "ref_areas") == 2
    assert not (tmp_path / "etc").exists() and not (temp_root.parent / "etc").exists()
    assert list(temp_root.iterdir()) == []


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/x.csv", "x.csv"),
        ("C:\\exports\\2024-25\\header.csv", "header.csv"),
        ("..", ""),
        ("a/b/..", ""),
        ("  episodes.csv  ", "episodes.csv"),
        ("bad\x00name\n.csv", "badname.csv"),
        (".hidden.csv", ".hidden.csv"),  # kept as hidden, then left out
        ("x" * 300 + ".xml", "x" * 146 + ".xml"),
    ],
)
def test_safe_names(given, safe):
    assert safe_name(given) == safe


def test_hidden_zip_and_other_files_are_left_out_and_said_so(settings, temp_root):
    outcome = load_uploaded(
        [
            ("areas.csv", AREAS.encode()),
            (".DS_Store", b"\x00\x01"),
            ("._areas.csv", AREAS.encode()),
            ("returns.zip", b"PK\x03\x04"),
            ("notes.txt", b"hello"),
            ("areas.csv", AREAS.encode()),  # the same file twice: read once
        ],
        settings=settings,
        temp_root=temp_root,
    )
    assert outcome.loaded, outcome.message
    outcomes = dict(outcome.files()[["file", "outcome"]].itertuples(index=False))
    assert outcomes["areas.csv"] == "loaded"
    assert "hidden" in outcomes[".DS_Store"] and "hidden" in outcomes["._areas.csv"]
    assert "unzip it" in outcomes["returns.zip"]
    assert outcomes["notes.txt"].startswith("left out: not a file this version reads")
    assert "areas.csv was uploaded twice; it was read once." in outcome.all_notes()


def test_two_different_files_with_one_name_are_refused(settings, temp_root):
    outcome = load_uploaded(
        [("episodes.csv", b"CHILD,DECOM\n1,01/04/2024\n"), ("episodes.csv", b"CHILD\n2\n")],
        settings=settings,
        temp_root=temp_root,
    )
    assert outcome.status == "refused"
    assert "episodes.csv" in outcome.message and "one year's SSDA903" in outcome.message
    assert not settings.store_path.exists()


def test_an_oversize_file_is_refused_and_named(settings, temp_root):
    outcome = load_uploaded(
        [("areas.csv", AREAS.encode()), ("huge_census.xml", b"<Message>" + b" " * 300)],
        settings=settings,
        temp_root=temp_root,
        max_file_bytes=250,
    )
    assert outcome.status == "refused"
    assert "huge_census.xml is larger than 250 bytes" in outcome.message
    assert "python -m framework load" in outcome.message
    assert not settings.store_path.exists()  # nothing at all was loaded
    assert list(temp_root.iterdir()) == []


def test_too_much_in_one_upload_is_refused(settings, temp_root):
    given = [(f"areas{n}.csv", AREAS.encode()) for n in range(3)]
    outcome = load_uploaded(given, settings=settings, temp_root=temp_root, max_total_bytes=300)
    assert outcome.status == "refused" and "more than" in outcome.message


def test_the_size_limit_is_streamlits_upload_limit():
    with (REPO / ".streamlit" / "config.toml").open("rb") as handle:
        megabytes = tomllib.load(handle)["server"]["maxUploadSize"]
    assert megabytes * 1024**2 == upload.MAX_FILE_BYTES


def test_a_malformed_file_is_explained_by_file_row_field_value(settings, temp_root):
    given = files_of(*sorted((FIXTURES / "ssda903" / "bad_dates").glob("*.csv")))
    outcome = load_uploaded(given, settings=settings, collection_year=2025, temp_root=temp_root)
    problems = outcome.problems()
    assert list(problems.columns) == [
        "severity",
        "file",
        "where",
        "table",
        "field",
        "value",
        "expected",
    ]
    episodes = problems[(problems["file"] == "episodes.csv") & (problems["field"] == "DECOM")]
    row = episodes[episodes["value"] == "2024-05-01"].iloc[0]
    assert row["where"] == "row 4" and row["severity"] == "set aside"
    assert "DD/MM/YYYY" in row["expected"]
    # Dates of birth identify a child: withheld on the page as in the store's problem log.
    births = problems[problems["field"] == "DOB"]
    assert len(births) and set(births["value"]) == {"(withheld)"}
    kinds = outcome.problem_kinds()
    assert kinds["problems"].sum() == len(outcome.load.problems)
    files = outcome.files().set_index("file")
    assert files.loc["header.csv", "set aside"] > 0


def test_no_child_identifier_reaches_the_page(settings, temp_root):
    header = (
        "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
        "KID7101QZ,F,31/02/2012,WBRI,A123456789012,,\n"
        "KID7101QZ,M,01/06/2015,WBRI,A123456789013,,\n"  # a repeated child: both set aside
    )
    given = [("addresses.csv", ADDRESSES.encode()), ("header.csv", header.encode())]
    outcome = load_uploaded(given, settings=settings, collection_year=2025, temp_root=temp_root)
    assert {p.child for p in outcome.load.problems} >= {"KID7002QZ", "KID7101QZ"}
    shown = [outcome.files(), outcome.problems(), outcome.problem_kinds()]
    text = " ".join(frame.astype(str).to_csv() for frame in shown) + " ".join(outcome.all_notes())
    for identifier in ("KID7002QZ", "KID7101QZ", "31/02/2012", "A123456789012"):
        assert identifier not in text


def test_a_failed_load_leaves_the_store_as_it_was(settings, temp_root, monkeypatch):
    assert load_uploaded([("areas.csv", AREAS.encode())], settings=settings).loaded
    before = snapshot(settings.store_path)

    def broken(*args, **kwargs):
        raise store.StoreError("the disk is full")

    monkeypatch.setattr(store, "write_table", broken)
    census = FIXTURES / "cin" / "valid_2024-25_sex.xml"
    outcome = load_uploaded(files_of(census), settings=settings, temp_root=temp_root)
    assert outcome.status == "refused"
    assert "store is unchanged" in outcome.message and "the disk is full" in outcome.message
    assert snapshot(settings.store_path) == before
    assert list(temp_root.iterdir()) == []


def test_a_failed_first_load_leaves_no_store(settings, temp_root, monkeypatch):
    def broken(*args, **kwargs):
        raise store.StoreError("the disk is full")

    monkeypatch.setattr(store, "write_table", broken)
    outcome = load_uploaded([("areas.csv", AREAS.encode())], settings=settings, temp_root=temp_root)
    assert outcome.status == "refused"
    # The app shows the authority's store once its file exists: a failed first load must not
    # leave an empty one behind.
    assert not settings.store_path.exists()
    assert list(temp_root.iterdir()) == []


def test_an_error_in_the_loader_still_removes_the_files(settings, temp_root, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(upload, "load_files", broken)
    with pytest.raises(RuntimeError):
        load_uploaded([("areas.csv", AREAS.encode())], settings=settings, temp_root=temp_root)
    assert list(temp_root.iterdir()) == []
    assert not upload._ONE_AT_A_TIME.locked()  # the next upload is not kept waiting


def test_without_a_key_nothing_loads_and_the_message_says_how_to_make_one(
    settings, temp_root, monkeypatch
):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY")
    outcome = load_uploaded([("areas.csv", AREAS.encode())], settings=settings, temp_root=temp_root)
    assert outcome.status == "refused"
    assert "No pseudonymisation key found" in outcome.message
    assert "python -m framework key new" in outcome.message
    assert upload.key_problem(settings) is not None
    assert not settings.key_file.exists()  # like the command line, the app never makes a key
    assert not settings.store_path.exists()


def test_another_key_than_the_stores_is_refused_before_reading(settings, temp_root, monkeypatch):
    load_files(
        [_written(temp_root.parent / "first", "areas.csv", AREAS)],
        store_path=settings.store_path,
        pseudonymiser=Pseudonymiser(b"the key this store was built with"),
    )
    before = snapshot(settings.store_path)
    assert "differs from the one this store was built with" in upload.key_problem(settings)
    monkeypatch.setattr(upload, "load_files", pytest.fail)  # never reached
    outcome = load_uploaded(
        [("addresses.csv", ADDRESSES.encode())], settings=settings, temp_root=temp_root
    )
    assert outcome.status == "refused" and "differs" in outcome.message
    assert snapshot(settings.store_path) == before


def test_the_demo_store_is_never_loaded_into(settings, temp_root):
    same = dataclasses.replace(settings, store_path=settings.demo_store)
    outcome = load_uploaded([("areas.csv", AREAS.encode())], settings=same, temp_root=temp_root)
    assert outcome.status == "refused" and "demo authority's" in outcome.message
    assert not settings.demo_store.exists()


def test_progress_goes_from_reading_to_storing(settings, temp_root):
    seen: list[tuple[float, str]] = []
    census = FIXTURES / "cin" / "valid_2024-25_sex.xml"
    given = [*files_of(census), ("areas.csv", AREAS.encode())]
    outcome = load_uploaded(
        given, settings=settings, temp_root=temp_root, progress=lambda *step: seen.append(step)
    )
    assert outcome.loaded
    shares = [share for share, _ in seen]
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert seen[0][1].startswith("Recognising 2 file(s)")
    assert any("valid_2024-25_sex.xml" in words for _, words in seen)
    assert any(words.startswith("Storing: ") for _, words in seen)


def test_progress_words():
    assert progress_words("read census.xml", 1, 4) == (
        0.15,
        "Read census.xml (1 of 4 files or SSDA903 sets)",
    )
    assert progress_words("reading files", 2, 4)[1] == "Reading and checking the files: 2 of 4 done"
    share, words = progress_words("stored referrals", 5, 10)
    assert share == pytest.approx(0.8) and words == "Storing: referrals (5 of 10 tables)"


def test_the_shared_samples_upload_like_they_load(shared, settings, temp_root):
    samples = shared / "spec" / "samples"
    full = samples / "d2i_full_return"
    given = [
        *sorted((samples / "cin").glob("*.xml")),
        full / "cin" / "fake_CIN_data.xml",
        *sorted((full / "ssda903").glob("*.csv")),
    ]
    outcome = load_uploaded(files_of(*given), settings=settings, temp_root=temp_root)
    assert outcome.loaded, outcome.message
    assert outcome.load.unreadable == []
    assert count(settings.store_path, "referrals") > 100
    assert count(settings.store_path, "episodes") > 1000
    problems = outcome.problems()
    assert len(problems) and problems[["file", "where", "expected"]].notna().all().all()
    # Two samples claim the same year: the person loading is told only one stays.
    assert any("only the last stays" in note for note in outcome.all_notes())
    assert list(temp_root.iterdir()) == []


def test_the_command_line_words_its_report_the_same_way(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", KEY)
    folder = tmp_path / "in"
    _written(folder, "areas.csv", AREAS)
    _written(folder, "notes.txt", "hello")
    store_file = tmp_path / "cli.duckdb"
    assert cli.main(["load", str(folder), "--store", str(store_file)]) == 0
    printed = capsys.readouterr().out
    assert f"Ignored ({upload.IGNORED_WORDS}): notes.txt" in printed
    assert "reference undated (areas.csv)" in printed
    assert cli.main(["load", str(folder), "--store", str(store_file)]) == 0
    assert "areas.csv: identical to a file of load 1; not read again" in capsys.readouterr().out


def _written(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


# --- the Data page's upload section (AppTest: no file_uploader support, so no upload) ----------


@pytest.fixture
def page(tmp_path, monkeypatch):
    """The app on a config of our own, in the given mode."""

    def start(mode: str, *, demo_store: Path, key: bool = True) -> AppTest:
        config = tmp_path / "config.toml"
        text = (REPO / "config.toml").read_text()
        text = text.replace('path = "data/outcomes.duckdb"', f'path = "{tmp_path / "own.duckdb"}"')
        text = text.replace('store = "data/demo.duckdb"', f'store = "{demo_store}"')
        text = text.replace(
            "~/.config/outcomes-explorer/pseudonym.key", str(tmp_path / "absent.key")
        )
        config.write_text(text)
        monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
        monkeypatch.setenv("OUTCOMES_MODE", mode)
        if key:
            monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", KEY)
        else:
            monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
        monkeypatch.chdir(REPO)
        st.cache_data.clear()
        st.cache_resource.clear()
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=30).run()
        return app.switch_page("app_pages/data_loaded.py").run()

    return start


def _uploaders(app: AppTest) -> list:
    return [e for e in app.main if getattr(e, "type", None) == "file_uploader"]


def _demo_store(tmp_path: Path) -> Path:
    demo = tmp_path / "demo.duckdb"
    folder = _written(tmp_path / "demo_files", "areas.csv", AREAS).parent
    load_files([folder], store_path=demo, pseudonymiser=Pseudonymiser(b"demo key, not secret"))
    return demo


def test_on_the_demo_the_page_says_files_go_to_the_authoritys_own_store(page, tmp_path):
    app = page("", demo_store=_demo_store(tmp_path))  # unset mode: no own store yet, so the demo
    assert not app.exception
    assert app.title[0].value == "Data loaded"
    assert any(h.value == "Load new files" for h in app.header)
    note = next(i.value for i in app.info if "never into the demo" in i.value)
    assert str(tmp_path / "own.duckdb") in note
    assert "the app then shows your store" in note
    assert len(_uploaders(app)) == 1
    load = next(b for b in app.button if b.label == "Load these files")
    assert load.disabled  # no files chosen yet
    assert [s.label for s in app.selectbox] == ["Collection year"]
    assert app.selectbox[0].value is None
    # The page above still shows what the demo store holds.
    assert {m.label for m in app.metric} == {"Children", "Loads", "Files loaded"}


def test_with_demo_mode_forced_the_page_says_the_app_stays_on_the_demo(page, tmp_path):
    app = page("demo", demo_store=_demo_store(tmp_path))
    assert not app.exception
    note = next(i.value for i in app.info if "never into the demo" in i.value)
    assert "OUTCOMES_MODE=demo is set" in note


def test_without_a_key_the_page_says_how_to_make_one(page, tmp_path):
    app = page("local", demo_store=tmp_path / "demo.duckdb", key=False)
    assert not app.exception
    assert "No store yet" in app.warning[0].value
    assert "python -m framework key new" in app.warning[1].value
    assert len(_uploaders(app)) == 1
    assert not any("never into the demo" in i.value for i in app.info)
