"""The city configuration: the sample city, look-ups, the calendar and error reporting."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.city import (
    CityConfig,
    CityConfigError,
    LocalizedList,
    LocalizedText,
    load_city,
    parse_city,
)
from bot.settings import SAMPLE_CITY
from bot.vocabulary.grading import Colour

LANGUAGES = ("zh_Hans", "zh_Hant", "en")


@pytest.fixture(scope="module")
def city() -> CityConfig:
    return load_city(SAMPLE_CITY)


@pytest.fixture
def data() -> dict[str, Any]:
    """The sample city as a fresh TOML dict, to break in a test."""
    return tomllib.loads(SAMPLE_CITY.read_text("utf-8"))


def broken(data: dict[str, Any]) -> list[str]:
    """Parse a modified city and return the error lines it must produce."""
    with pytest.raises(CityConfigError) as info:
        parse_city(data, SAMPLE_CITY)
    assert info.value.path == SAMPLE_CITY
    assert info.value.lines
    return info.value.lines


def test_sample_city_loads(city: CityConfig) -> None:
    assert city.city.name.get("zh_Hans") == "示例市"
    assert city.city.name.get("en") == "Sample City"
    assert city.city.case_prefix == "YH"
    assert len(city.departments) == 8
    assert len(city.districts) == 8
    assert len(city.categories) == 13
    assert len(city.awareness_days) == 12
    assert city.department("laocheng_office") is not None
    assert city.district("laocheng") is not None
    assert city.category("crowded_venues") is not None
    assert city.department("police") is None
    assert city.district("atlantis") is None
    assert city.category("weather") is None


def test_sample_documents_the_policy(city: CityConfig) -> None:
    assert [city.deadlines.days(c) for c in Colour] == [30, 15, 7, 3]
    assert (city.quiet_hours.start_time, city.quiet_hours.end_time) == (
        dt.time(8, 0),
        dt.time(21, 0),
    )
    reward = city.reward
    assert reward.enabled
    assert reward.major_percent_of_fine == 15
    assert (reward.major_minimum, reward.major_maximum) == (3000, 300000)
    assert (reward.ordinary_fixed, reward.ordinary_monthly_cap) == (500, 1000)
    assert reward.claim_days == 60
    assert not reward.enterprise_contacts_eligible
    assert reward.claim_where is not None
    for language in LANGUAGES:
        assert "12350" in reward.claim_where.get(language)


def test_language_fallback(city: CityConfig) -> None:
    name = city.city.name
    assert name.get("zh_Hant") == "示例市"
    assert name.get("fr") == name.zh_Hans


def test_every_district_centre_is_inside_it(city: CityConfig) -> None:
    for district in city.districts:
        latitude, longitude = district.centre()
        assert district.contains(latitude, longitude), district.code
        assert city.district_at(latitude, longitude) == district, district.code


def test_districts_tile_the_city_without_gaps_or_overlaps(city: CityConfig) -> None:
    # Walk every vertex value of the boundaries (so every shared edge and corner, exactly as
    # written in the file) and the points between them; the outer north and east edges are
    # outside by the half-open rule, so stop short of them.
    edge_lons = sorted({lon for d in city.districts for lon, _ in d.boundary})
    edge_lats = sorted({lat for d in city.districts for _, lat in d.boundary})
    assert (len(edge_lons), len(edge_lats)) == (5, 3)

    def walk(edges: list[float]) -> list[float]:
        points = [x + (y - x) * k / 4 for x, y in itertools.pairwise(edges) for k in range(4)]
        return [*points, *edges[:-1]]

    longitudes, latitudes = walk(edge_lons), walk(edge_lats)
    for latitude in latitudes:
        for longitude in longitudes:
            owners = [d.code for d in city.districts if d.contains(latitude, longitude)]
            assert len(owners) == 1, (latitude, longitude, owners)


def test_points_in_known_districts(city: CityConfig) -> None:
    def code_at(latitude: float, longitude: float) -> str | None:
        district = city.district_at(latitude, longitude)
        return district.code if district else None

    assert code_at(30.28, 120.19) == "laocheng"
    assert code_at(30.22, 120.27) == "gangkou"
    assert code_at(30.20, 120.00) == "nanhu"
    lat, lon = city.city.centre or (0.0, 0.0)
    assert code_at(lat, lon) is not None


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(30.40, 120.15), (30.25, 120.40), (30.10, 120.15), (30.25, 119.90), (0.0, 0.0)],
)
def test_point_outside_every_district(city: CityConfig, latitude: float, longitude: float) -> None:
    assert city.district_at(latitude, longitude) is None


def test_every_category_routes_to_an_existing_department(city: CityConfig) -> None:
    districts: list[str | None] = [None, *(d.code for d in city.districts)]
    for category in city.categories:
        for district in districts:
            department = city.route(category.code, district)
            assert city.department(department) is not None, (category.code, district)


def test_routing_follows_the_design(city: CityConfig) -> None:
    expected = {
        "fire": "fire",
        "gas": "housing",
        "construction": "housing",
        "housing": "housing",
        "chemicals": "emergency",
        "mines": "emergency",
        "industry_trade": "emergency",
        "road_transport": "transport",
        "special_equipment": "market",
        "geological": "natural_resources",
        "flood": "water",
        "crowded_venues": "fire",
        "other": "emergency",
    }
    assert {c.code: city.route(c.code, "dongpo") for c in city.categories} == expected


def test_crowded_venues_in_the_old_town_go_to_the_street_office(city: CityConfig) -> None:
    assert city.route("crowded_venues", "laocheng") == "laocheng_office"
    for district in city.districts:
        if district.code != "laocheng":
            assert city.route("crowded_venues", district.code) == "fire", district.code
    assert city.route("crowded_venues", None) == "fire"
    # The street office handles only that category.
    assert city.route("fire", "laocheng") == "fire"


def test_route_of_unknown_category_raises(city: CityConfig) -> None:
    with pytest.raises(KeyError):
        city.route("weather", "laocheng")


def test_last_monday_of_march(city: CityConfig) -> None:
    day = next(d for d in city.awareness_days if d.code == "primary_school_safety")
    assert day.date_in(2026) == dt.date(2026, 3, 30)
    assert day.date_in(2027) == dt.date(2027, 3, 29)
    assert [d.code for d in city.awareness_days_on(dt.date(2026, 3, 30))] == [
        "primary_school_safety"
    ]
    assert list(city.awareness_days_on(dt.date(2027, 3, 30))) == []


def test_awareness_days_on_fixed_dates(city: CityConfig) -> None:
    assert [d.code for d in city.awareness_days_on(dt.date(2026, 11, 9))] == ["fire_safety"]
    assert [d.code for d in city.awareness_days_on(dt.date(2026, 6, 1))] == ["safety_month"]
    assert [d.code for d in city.awareness_days_on(dt.date(2026, 5, 31))] == ["flood_season"]
    assert list(city.awareness_days_on(dt.date(2026, 11, 10))) == []


def test_awareness_days_fall_on_distinct_dates(city: CityConfig) -> None:
    for year in (2026, 2027, 2028):
        dates = [d.date_in(year) for d in city.awareness_days]
        assert None not in dates
        assert len(set(dates)) == len(dates), year


def _texts(city: CityConfig) -> list[tuple[str, LocalizedText]]:
    out = [("city", city.city.name)]
    out += [(f"department {d.code}", d.name) for d in city.departments]
    out += [(f"district {d.code}", d.name) for d in city.districts]
    out += [(f"category {c.code}", c.name) for c in city.categories]
    for day in city.awareness_days:
        out += [(f"day {day.code}", day.name), (f"day {day.code} message", day.message)]
    if city.reward.claim_where is not None:
        out.append(("claim_where", city.reward.claim_where))
    for category in city.categories:
        for template in category.order_templates:
            where = f"category {category.code} template {template.code}"
            out += [(where, template.title), (where, template.text)]
    return out


def test_texts_are_safe_for_html(city: CityConfig) -> None:
    lists: list[tuple[str, LocalizedList]] = [(d.code, d.tips) for d in city.awareness_days]
    strings = [(where, t.get(lang)) for where, t in _texts(city) for lang in LANGUAGES]
    strings += [(where, tip) for where, t in lists for lang in LANGUAGES for tip in t.get(lang)]
    for where, text in strings:
        assert text, where
        assert text == text.strip(), where
        assert not set(text) & set("<>&"), (where, text)


def test_category_names_fit_on_a_button(city: CityConfig) -> None:
    for category in city.categories:
        assert len(category.name.zh_Hans) <= 16, category.code
        assert len(category.name.zh_Hant) <= 16, category.code
        assert len(category.name.en) <= 30, category.code


def test_awareness_messages_announce_tomorrow_and_have_tips(city: CityConfig) -> None:
    for day in city.awareness_days:
        assert day.message.zh_Hans.startswith("明天"), day.code
        assert day.message.zh_Hant.startswith("明天"), day.code
        assert day.message.en.startswith("Tomorrow"), day.code
        for language in LANGUAGES:
            tips = day.tips.get(language)
            assert 2 <= len(tips) <= 3, (day.code, language)
            assert all(len(tip) <= 120 for tip in tips), (day.code, language)


def test_every_category_has_order_templates_in_the_departments_words(city: CityConfig) -> None:
    # The enterprise reads one of these (or the officer's own words), never the reporter's.
    for category in city.categories:
        assert 2 <= len(category.order_templates) <= 3, category.code
        for template in category.order_templates:
            assert category.template(template.code) is template
            for language in LANGUAGES:
                assert len(template.title.get(language)) <= 32, (category.code, template.code)
                assert 20 <= len(template.text.get(language)) <= 300, template.code


# Broken configurations -------------------------------------------------------------------------


def test_an_order_template_code_given_twice(data: dict[str, Any]) -> None:
    fire = data["categories"][0]
    fire["order_templates"][1]["code"] = fire["order_templates"][0]["code"]
    lines = broken(data)
    assert any("categories[0] (fire)" in line and "appears twice" in line for line in lines), lines


def test_an_order_template_without_a_translation(data: dict[str, Any]) -> None:
    del data["categories"][1]["order_templates"][0]["text"]["en"]
    lines = broken(data)
    assert "categories[1].order_templates[0].text.en: Field required" in lines, lines


def test_unknown_department_in_a_category(data: dict[str, Any]) -> None:
    data["categories"][4]["department"] = "police"
    lines = broken(data)
    assert any(
        "categories[4]" in line and "chemicals" in line and "police" in line for line in lines
    ), lines


def test_unknown_district_and_department_in_district_routing(data: dict[str, Any]) -> None:
    crowded = next(i for i, c in enumerate(data["categories"]) if c["code"] == "crowded_venues")
    data["categories"][crowded]["district_departments"] = {"atlantis": "nowhere"}
    text = " ".join(broken(data))
    assert f"categories[{crowded}]" in text
    assert "atlantis" in text
    assert "nowhere" in text


def test_bad_quiet_hours(data: dict[str, Any]) -> None:
    data["quiet_hours"]["start"] = "8 am"
    lines = broken(data)
    assert any(line.startswith("quiet_hours.start") and "8 am" in line for line in lines), lines


def test_duplicated_district_code(data: dict[str, Any]) -> None:
    data["districts"][1]["code"] = data["districts"][0]["code"]
    text = " ".join(broken(data))
    assert "districts" in text
    assert repr(data["districts"][0]["code"]) in text
    assert "twice" in text


def test_missing_translation(data: dict[str, Any]) -> None:
    del data["districts"][2]["name"]["zh_Hant"]
    lines = broken(data)
    assert any(line.startswith("districts[2].name.zh_Hant") for line in lines), lines


def test_unknown_field_is_refused(data: dict[str, Any]) -> None:
    data["deadlines"]["purple"] = 10
    lines = broken(data)
    assert any(line.startswith("deadlines.purple") for line in lines), lines


def test_swapped_coordinates(data: dict[str, Any]) -> None:
    data["districts"][0]["boundary"] = [[lat, lon] for lon, lat in data["districts"][0]["boundary"]]
    lines = broken(data)
    assert any(line.startswith("districts[0].boundary") for line in lines), lines


def test_reward_minimum_above_maximum(data: dict[str, Any]) -> None:
    data["reward"]["major_minimum"] = 400000
    lines = broken(data)
    assert any(line.startswith("reward") and "major_minimum" in line for line in lines), lines


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"day": 30}, "either day, or weekday"),
        ({"nth": None}, "nth is required"),
        ({"weekday": "funday"}, "weekday must be one of"),
    ],
)
def test_bad_awareness_day_rule(
    data: dict[str, Any], change: dict[str, Any], expected: str
) -> None:
    day = data["awareness_days"][0]
    assert day["code"] == "primary_school_safety"
    for key, value in change.items():
        if value is None:
            day.pop(key)
        else:
            day[key] = value
    lines = broken(data)
    assert any(line.startswith("awareness_days[0]") and expected in line for line in lines), lines


def test_impossible_date(data: dict[str, Any]) -> None:
    data["awareness_days"][1]["month"] = 2
    data["awareness_days"][1]["day"] = 30
    lines = broken(data)
    assert any("awareness_days[1]" in line and "no day 30" in line for line in lines), lines


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "city.toml"
    path.write_text('[city]\nname = { zh_Hans = "示例市"\n', encoding="utf-8")
    with pytest.raises(CityConfigError) as info:
        load_city(path)
    assert info.value.path == path
    assert info.value.lines[0].startswith("not valid TOML")
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CityConfigError) as info:
        load_city(tmp_path / "nowhere.toml")
    assert "cannot read" in info.value.lines[0]


def test_a_valid_copy_loads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    path.write_bytes(SAMPLE_CITY.read_bytes())
    assert load_city(path) == load_city(SAMPLE_CITY)


def test_parse_city_does_not_change_its_input(data: dict[str, Any]) -> None:
    before = copy.deepcopy(data)
    parse_city(data, SAMPLE_CITY)
    assert data == before
