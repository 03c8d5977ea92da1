"""AppTest for every page: the app starts from app.py and shows what the store holds."""

from __future__ import annotations

from pathlib import Path

from framework.load import load_files

REPO = Path(__file__).resolve().parents[1]
AREAS = (
    "area_code,area_name,ward_code,ward_name,locality,imd_decile,idaci_decile,children_0_17\n"
    "X01000001,Demoton 001A,X05000001,Ward One,Northmere,1,2,350\n"
)
ADDRESSES = "child_id,postcode,from_date\n" + "".join(
    f"DMT{n:02},QX1 1AB,2023-04-01\n" for n in range(7)
)


def test_data_page_without_a_store_says_how_to_load(app_on, tmp_path):
    app = app_on(tmp_path / "absent.duckdb")
    app.switch_page("app_pages/data_loaded.py").run()
    assert not app.exception
    assert app.title[0].value == "Data loaded"
    assert "No store yet" in app.warning[0].value


def test_data_page_shows_counts_and_load_history(app_on, tmp_path, pseudonymiser):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "areas.csv").write_text(AREAS)
    (folder / "addresses.csv").write_text(ADDRESSES)
    store_file = tmp_path / "store.duckdb"
    load_files([folder], store_path=store_file, pseudonymiser=pseudonymiser)
    app = app_on(store_file)
    app.switch_page("app_pages/data_loaded.py").run()
    assert not app.exception
    labels = {m.label: m.value for m in app.metric}
    assert labels["Loads"] == "1"
    by_year = app.dataframe[0].value
    by_table = by_year.set_index("table")
    assert set(by_table.index) == {"child_addresses", "ref_areas"}
    assert str(by_table.loc["child_addresses", "total"]) == "7"
    # One area: a count from 1 to the threshold never reaches the page.
    assert by_table.loc["ref_areas", "total"] == "c"
    # Seven home postcodes, no postcode lookup loaded yet: the page says why none linked.
    links = app.dataframe[1].value.set_index("postcodes")
    assert str(links.loc["child_addresses.area_code", "no lookup loaded"]) == "7"


def test_place_page_without_returns_says_so(app_on, tmp_path):
    from tests.engine_store import save_store, tiny_store
    from tests.test_place import AREAS

    app = app_on(save_store(tiny_store(AREAS), tmp_path / "store.duckdb"))
    app.switch_page("app_pages/place.py").run()
    assert not app.exception
    assert app.title[0].value == "Place and deprivation"
    assert "No returns" in app.info[0].value


def test_place_page_draws_the_gradient_and_the_map(app_on, tmp_path):
    from tests.engine_store import save_store
    from tests.test_place import place_store

    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    app.switch_page("app_pages/place.py").run()
    assert not app.exception
    # B1.2 (no further action) is the first one-share-per-child indicator with these data.
    choice = app.selectbox[0]
    choice.select_index([o.split()[0] for o in choice.options].index("B1.2")).run()
    assert not app.exception
    drawn = [e.type for e in app.main.children.values() if type(e).__name__ == "UnknownElement"]
    assert drawn == ["vega_lite_chart", "deck_gl_json_chart"]  # the gradient, then the map
    assert not app.warning


def _select(app, label: str):
    return next(box for box in app.selectbox if box.label == label)


def test_domain_page_shows_the_engines_numbers_and_one_indicator_in_full(app_on, tmp_path):
    from tests.engine_store import save_store
    from tests.test_place import place_store

    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    app.switch_page("app_pages/domain_b.py").run()
    assert not app.exception
    assert app.title[0].value.startswith("B. Reaching children and families")
    table = app.dataframe[0].value.set_index("id")
    # 53 of the 80 referrals ended in no further action: the engine's 66.3%.
    assert table.loc["B1.2", "value"] == "66.3%"
    assert table.loc["B3.1", "note"] == "no data" and table.loc["B3.1", "value"] == ""
    choice = _select(app, "Look at one indicator")
    choice.select_index(
        choice.options.index(next(o for o in choice.options if o.startswith("B1.2")))
    ).run()
    assert not app.exception
    assert any(h.value.startswith("B1.2 ") for h in app.subheader)
    assert app.query_params["indicator"] == "B1.2"  # the view is in the link


def test_a_hidden_value_shows_as_hidden_on_the_domain_page(app_on, tmp_path):
    from tests.engine_store import save_store, tiny_store

    # Ten referrals, three with no further action: 3 is a small count, so B1.2 is hidden.
    referrals = "\n".join(f"R{n} | 2024-06-01 | {'true' if n < 3 else 'false'}" for n in range(10))
    con = tiny_store(f"referrals\nchild_id | referral_date | referral_nfa\n{referrals}")
    con.execute(
        "INSERT INTO load_files (load_id, file_name, collection_year, status) "
        "VALUES (1, 'census.xml', 2025, 'loaded')"
    )
    app = app_on(save_store(con, tmp_path / "store.duckdb"))
    app.switch_page("app_pages/domain_b.py").run()
    assert not app.exception
    table = app.dataframe[0].value.set_index("id")
    assert table.loc["B1.2", "value"] == "c" and table.loc["B1.2", "interval"] == "c"


def test_the_group_filter_comes_from_the_link_and_stays_across_pages(app_on, tmp_path):
    from tests.engine_store import save_store
    from tests.test_place import place_store

    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    app.query_params["group"] = "cin"
    app.query_params["period"] = "2024-25"
    app.switch_page("app_pages/domain_b.py").run()
    assert not app.exception
    assert _select(app, "Group").value == "cin"
    assert "Children in need" in app.subheader[0].value
    app.switch_page("app_pages/place.py").run()
    assert not app.exception
    # The widget's value is its session state (AppTest shows a kept value only when set).
    assert app.session_state["filter_group"] == "cin"
