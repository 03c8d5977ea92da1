"""Place and deprivation: an outcome across deprivation deciles, and on a map of the authority.

The page only asks the engine (framework/engine/place.py) and draws what it returns: values,
intervals and the gradient come from the one aggregator, with small numbers already hidden.
"""

import pydeck as pdk
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import (
    area_view,
    child_indicators,
    deprivation_view,
    latest_period_label,
    settings,
    shown,
    sidebar_filters,
    store_path,
)
from app_pages.downloads import table_downloads
from framework.charts import decile_bars
from framework.formatting import shares_in_words

require()  # signed in, with a role that may see aggregate pages (checked on every run)

OFFLINE_NOTE = "No basemap: the map works offline. Tick the box to add one (needs internet)."
BASEMAP = "https://basemaps.cartocdn.com/gl/positron-gl-style/style.json"
HIDDEN_GREY = [200, 200, 200, 160]

st.title("Place and deprivation")
if not store_path().exists():
    st.warning("No store yet: load returns, or run `make run` for the demo authority.")
    st.stop()

latest = latest_period_label()
if latest is None:
    st.info("No returns or local data are loaded yet, so there is nothing to show by place.")
    st.stop()
filters = sidebar_filters(latest, places=False)  # the map shows every area
period, group, _ = filters
indicators = child_indicators()
chosen = st.selectbox(
    "Indicator", list(indicators), format_func=lambda i: f"{i} {indicators[i]}", index=0
)
threshold = settings().disclosure_threshold

st.subheader("Across deprivation")
index = st.radio("Index", ["imd", "idaci"], horizontal=True, format_func=str.upper)
view = deprivation_view(chosen, period, index, group, threshold)
if view.table.empty:
    st.info("No data for this indicator, group and period.")
else:
    table = view.table.assign(decile=view.table["area"])
    words = shares_in_words(
        [f"decile {d}" for d in table["decile"]], table["value"], table["suppressed"]
    )
    bars = made_chart(decile_bars, view.table, index)
    draw_chart(bars, alt=f"By {index.upper()} decile. {words}")
    gradient = view.gradient
    if gradient.reason:
        st.info(f"No gradient: {gradient.reason}.")
    else:
        st.markdown(
            f"**Slope index of inequality** {gradient.sii:+.1%} "
            f"(95% interval {gradient.sii_low:+.1%} to {gradient.sii_high:+.1%}); **relative "
            f"index** {gradient.rii:+.2f} ({gradient.rii_low:+.2f} to {gradient.rii_high:+.2f}). "
            "Positive: higher in less deprived areas."
        )
    if view.note:
        st.caption(view.note)
    st.dataframe(shown(table.drop(columns=["area"])), hide_index=True)
    table_downloads(
        table.drop(columns=["area"]).assign(statistic="proportion"),
        name=f"{chosen} by {index} decile",
        indicator_ids=[chosen],
        filters=filters,
    )

st.subheader("On the map")
level = st.radio("Areas", ["ward", "locality", "lsoa"], horizontal=True)
areas = area_view(chosen, period, level, group, threshold)
if areas.geojson is None:
    st.info("No area boundaries are loaded, so there is no map. The table shows the areas.")
else:
    features = areas.geojson["features"]
    shade_by = "indicator"
    if level == "lsoa":
        shade_by = st.radio(
            "Shade by", ["indicator", "IMD decile", "IDACI decile"], horizontal=True,
            help="Deprivation as a layer to compare with the indicator's map.",
        )  # fmt: skip
    values = [f["properties"].get("value") for f in features]
    top = max([v for v in values if v is not None], default=1.0) or 1.0
    for feature, value in zip(features, values, strict=True):
        props = feature["properties"]
        hidden = bool(props.get("suppressed"))
        # Shade by the share (darker is higher); hidden areas are grey and say only that.
        strength = 0 if value is None else int(40 + 200 * value / top)
        props["fill"] = HIDDEN_GREY if hidden or value is None else [30, 90, 160, strength]
        if shade_by != "indicator":
            decile = props.get("imd_decile" if shade_by == "IMD decile" else "idaci_decile")
            # Decile 1 (most deprived) darkest; deciles are public, so nothing is hidden.
            props["fill"] = HIDDEN_GREY if decile is None else [160, 60, 30, 250 - 22 * decile]
        if hidden:
            props["tip"] = f"{props['area']}: hidden (small numbers)"
        elif value is None:
            props["tip"] = f"{props['area']}: no data"
        else:
            props["tip"] = (
                f"{props['area']}: {value:.1%} ({props['numerator']:.0f} of "
                f"{props['denominator']:.0f}; 95% {props['ci_low']:.1%} to {props['ci_high']:.1%})"
            )
            if props.get("rate_per_10000") is not None:
                props["tip"] += f"; {props['rate_per_10000']:.0f} per 10,000 children living there"
    layer = pdk.Layer(
        "GeoJsonLayer",
        areas.geojson,
        pickable=True,
        stroked=True,
        filled=True,
        get_fill_color="properties.fill",
        get_line_color=[80, 80, 80],
        line_width_min_pixels=1,
    )
    basemap = st.checkbox("Basemap (needs internet)", value=False, help=OFFLINE_NOTE)
    longitude, latitude = areas.centre
    deck = pdk.Deck(
        layers=[layer],
        initial_view_state=pdk.ViewState(latitude=latitude, longitude=longitude, zoom=10),
        map_style=BASEMAP if basemap else None,
        tooltip={"text": "{tip}"},
    )
    st.pydeck_chart(deck, alt="Map of the areas; the table below gives every area's numbers.")
st.dataframe(shown(areas.table), hide_index=True)
table_downloads(
    areas.table.assign(statistic="proportion"),
    name=f"{chosen} by {level}",
    indicator_ids=[chosen],
    filters=filters,
)
