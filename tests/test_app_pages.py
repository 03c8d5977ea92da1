"""AppTests for the overview, groups, trends and glossary pages, and the place filters that
every framework page shares (the app is started from app.py on hand-made stores)."""

from __future__ import annotations

from tests.engine_store import save_store, tiny_store
from tests.test_place import place_store


def _select(app, label: str):
    return next(box for box in app.selectbox if box.label == label)


def _html(app) -> str:
    return "\n".join(element.proto.body for element in app.get("html"))


def _hidden_store(path):
    """Ten referred children, three with no further action: B1.2 rests on a count of 3."""
    referrals = "\n".join(f"R{n} | 2024-06-01 | {'true' if n < 3 else 'false'}" for n in range(10))
    children = "\n".join(f"R{n} | F | 2015-01-01 | WBRI" for n in range(10))
    con = tiny_store(
        f"children\nchild_id | sex | date_of_birth | ethnicity\n{children}\n\n"
        f"referrals\nchild_id | referral_date | referral_nfa\n{referrals}"
    )
    con.execute(
        "INSERT INTO load_files (load_id, file_name, collection_year, status) "
        "VALUES (1, 'census.xml', 2025, 'loaded')"
    )
    return save_store(con, path)


def test_the_app_opens_on_the_overview_with_the_engines_numbers(app_on, tmp_path):
    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    assert not app.exception
    assert app.title[0].value == "Outcomes at a glance"
    # B1.2: 53 of 80 referrals ended in no further action, 66.3% (Wilson 55.4% to 75.7%).
    body = _html(app)
    assert "66.3%" in body and "55.4% to 75.7%" in body
    assert any(m.value == "**B1.2** Referrals ending in no further action" for m in app.markdown)
    # One click to the indicator in full: a link to its domain page carrying the filters.
    links = {link.proto.label: link.proto for link in app.get("page_link")}
    b12 = links["Open B1.2 in full"]
    assert b12.page.endswith("domain_b") and "indicator=B1.2" in b12.query_string
    # The context strip: 80 children in need; half the children live in deciles 1-2.
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Children in need"] == "80"
    assert metrics["In England's poorest fifth"] == "50.0%"
    # No demo banner: this is the authority's own store.
    assert not any("Demo" in i.value for i in app.info)


def test_a_hidden_headline_shows_c_and_never_its_digits(app_on, tmp_path):
    app = app_on(_hidden_store(tmp_path / "store.duckdb"))
    assert not app.exception
    body = _html(app)
    b12 = body.split("B1.2")[0] if "B1.2" in body else body
    assert ">c<" in body
    assert "30.0%" not in body and "30.0%" not in b12


def test_the_demo_banner_shows_in_demo_mode(app_on, tmp_path):
    # The banner is drawn by app.py before every page (AppTest keeps the entry script's
    # elements only on its first run, so the browser test checks it on every page).
    app = app_on(tmp_path / "no store here.duckdb", mode="demo")
    assert any("Demoton" in i.value for i in app.info)


def test_the_area_filter_restricts_every_number(app_on, tmp_path):
    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    app.switch_page("app_pages/domain_b.py").run()
    area = _select(app, "Area")
    assert "locality: Uplands" in area.options  # as the user reads it
    area.set_value("locality:Uplands").run()
    assert not app.exception
    # Uplands: 40 children, 27 of their referrals ended in no further action (67.5%).
    table = app.dataframe[0].value.set_index("id")
    assert table.loc["B1.2", "value"] == "67.5%"
    assert app.query_params["area"] == "locality:Uplands"
    assert "locality: Uplands" in app.subheader[0].value
    # The decile too: IMD decile 1 within Uplands is X1 alone, 13 of 20 (65.0%).
    decile = _select(app, "Deprivation decile")
    assert "IMD decile 1 (most deprived)" in decile.options
    decile.set_value("1").run()
    assert app.dataframe[0].value.set_index("id").loc["B1.2", "value"] == "65.0%"
    # The filters stay set on the next page, and the overview uses them.
    app.switch_page("app_pages/overview.py").run()
    assert app.session_state["filter_area"] == "locality:Uplands"  # the widget's value
    assert "65.0%" in _html(app)


def test_groups_page_compares_groups_with_all_children(app_on, tmp_path):
    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    app.switch_page("app_pages/groups.py").run()
    choice = _select(app, "Indicator")
    choice.select_index([o.split()[0] for o in choice.options].index("B1.2")).run()
    assert not app.exception
    table = app.dataframe[0].value.set_index("group")
    assert table.loc["All children", "value"] == "66.3%"
    assert table.loc["Children in need", "value"] == "66.3%"
    assert table.loc["Children in need", "gap to all children"] == "+0.0%"
    drawn = [e.type for e in app.main.children.values() if type(e).__name__ == "UnknownElement"]
    assert "vega_lite_chart" in drawn
    matrix = app.dataframe[1].value.set_index("id")
    assert matrix.loc["B1.2", "All children"] == "66.3%"


def test_groups_page_shows_hidden_values_as_c(app_on, tmp_path):
    app = app_on(_hidden_store(tmp_path / "store.duckdb"))
    app.switch_page("app_pages/groups.py").run()
    choice = _select(app, "Indicator")
    choice.select_index([o.split()[0] for o in choice.options].index("B1.2")).run()
    table = app.dataframe[0].value.set_index("group")
    assert table.loc["All children", "value"] == "c"
    assert table.loc["Children in need", "gap to all children"] == "c"


def test_trends_page_states_the_change_in_words(app_on, tmp_path):
    rows = [f"A{n} | 2023-06-01 | {'true' if n < 20 else 'false'}" for n in range(40)]
    rows += [f"B{n} | 2024-06-01 | {'true' if n % 3 else 'false'}" for n in range(80)]
    con = tiny_store("referrals\nchild_id | referral_date | referral_nfa\n" + "\n".join(rows))
    con.execute(
        "INSERT INTO load_files (load_id, file_name, collection_year, status) "
        "VALUES (1, 'census.xml', 2025, 'loaded')"
    )
    app = app_on(save_store(con, tmp_path / "store.duckdb"))
    app.query_params["indicator"] = "B1.2"
    app.switch_page("app_pages/trends.py").run()
    assert not app.exception
    words = " ".join(m.value for m in app.markdown)
    assert "From 2023-24 to 2024-25 it rose from 50.0% to 66.3% (+16.3 points)" in words
    table = app.dataframe[0].value.set_index("period")
    assert table.loc["2024-25", "value"] == "66.3%"
    # The demo config's events fall in the years shown and are listed.
    events = app.dataframe[1].value
    assert "New practice model" in events["label"].tolist()
    app.radio[0].set_value("half-years").run()
    assert not app.exception
    assert app.dataframe[0].value["period"].iloc[-1] == "2024-25H2"


def test_glossary_page_finds_terms(app_on, tmp_path):
    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    app.switch_page("app_pages/glossary.py").run()
    assert not app.exception
    everything = len(app.markdown)
    app.text_input[0].set_value("interval").run()
    found = [m.value for m in app.markdown]
    assert 0 < len(found) < everything
    assert any(m.startswith("**95% interval") for m in found)


def test_framework_pages_offer_their_tables_and_charts_for_download(app_on, tmp_path):
    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    for page, wanted in (
        ("app_pages/overview.py", {"Download CSV", "Download Excel"}),
        (
            "app_pages/domain_b.py",
            {"Download CSV", "Download Excel", "Download PNG", "Download SVG"},
        ),
        ("app_pages/groups.py", {"Download CSV", "Download Excel", "Download PNG", "Download SVG"}),
        ("app_pages/trends.py", {"Download CSV", "Download Excel", "Download PNG", "Download SVG"}),
    ):
        app.switch_page(page).run()
        assert not app.exception, page
        labels = {button.proto.label for button in app.get("download_button")}
        assert wanted <= labels, (page, labels)


def test_every_filter_change_is_kept_not_just_every_other(app_on, tmp_path):
    # A widget identified by its default was made anew when the default moved, and every
    # second change was lost (found by the browser test).
    app = app_on(save_store(place_store(), tmp_path / "store.duckdb"))
    app.switch_page("app_pages/domain_b.py").run()
    for group in ("cp", "cla", None, "cin"):
        _select(app, "Group").set_value(group or "all").run()
        assert not app.exception
        assert _select(app, "Group").value == (group or "all")
        assert ("Child protection plan" in app.subheader[0].value) == (group == "cp")
        if group is None:
            assert "group" not in app.query_params
        else:
            assert app.query_params["group"] in (group, [group])
    for period in ("2023-24", "2024-25", "2023-24"):
        app.text_input[0].set_value(period).run()
        assert app.text_input[0].value == period
        assert period in app.subheader[0].value
    # A link (here: a query parameter from outside) still wins over the remembered filter.
    app.query_params["group"] = "cp"
    app.switch_page("app_pages/overview.py").run()
    assert app.session_state["filter_group"] == "cp"
    assert "Child protection plan" in app.caption[0].value


def test_views_are_saved_beside_the_store_so_a_restarted_app_opens_at_once(
    app_on, tmp_path, monkeypatch
):
    import streamlit as st

    import framework.engine.overview as engine_overview

    store_file = save_store(place_store(), tmp_path / "store.duckdb")
    app = app_on(store_file)
    saved = list((tmp_path / "store.duckdb.views").glob("*.pickle"))
    assert saved  # the overview (and what the page asked for) on disk

    # A new process: nothing in memory, and the engine is not asked again.
    st.cache_data.clear()

    def not_again(*args, **kwargs):
        raise AssertionError("the saved view should have been read")

    monkeypatch.setattr(engine_overview, "overview", not_again)
    app = app.run()
    assert not app.exception
    assert "66.3%" in _html(app)
