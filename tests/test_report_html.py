"""The HTML report: content, masking, escaping, self-containment, and search and filters in a real headless browser."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dangka.report.grade import grade
from dangka.report.html import render_html

SAMPLE = Path(__file__).parent / "data" / "reports" / "findings_sample.json"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture()
def report() -> dict:
    """A findings document with several counties, townships and villages, every severity, and errors."""
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


class _Tables(HTMLParser):
    """Collects each table of a page as rows of cell texts, keyed by the heading before it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._heading = ""
        self._in_heading = False
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3"):
            self._heading, self._in_heading = "", True
        elif tag == "table":
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self._in_heading = False
        elif tag == "table" and self._rows is not None:
            name = self._heading
            while name in self.tables:
                name += "+"
            self.tables[name] = self._rows
            self._rows = None
        elif tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._in_heading:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def personal_numbers(report: dict) -> set[str]:
    """Every 18-character identity number and 11-digit mobile number written anywhere in the sample."""
    text = json.dumps(report, ensure_ascii=False)
    return set(re.findall(r"(?<!\d)\d{17}[\dX](?!\d)", text)) | set(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))


def test_no_full_identity_or_mobile_number_appears(report):
    numbers = personal_numbers(report)
    assert len(numbers) >= 5, "the sample must contain personal numbers for this test to mean anything"
    page = render_html(report, grades=grade(report))
    for number in numbers:
        assert number not in page
    assert "410727********1234" in page
    assert "138****1109" in page


def test_ill_formed_numbers_in_evidence_are_masked_by_their_field(report):
    page = render_html(report)
    assert "41022519650418" not in page
    assert "410225****0418" in page
    assert "******7001" in page  # the 10-digit phone of a form.invalid finding


def test_landline_in_a_message_is_masked(report):
    page = render_html(report)
    assert "0371-5551234" not in page
    assert "0371-***1234" in page


def test_no_mask_shows_the_numbers(report):
    page = render_html(report, mask=False)
    assert "410727199001011234" in page
    assert "13803731109" in page


def test_masking_does_not_change_the_callers_report(report):
    original = copy.deepcopy(report)
    render_html(report)
    assert report == original


def test_names_in_data_are_escaped(report):
    page = render_html(report)
    assert "<script>alert(1)</script>" not in page
    assert "王&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1


def test_attribute_values_are_escaped(report):
    report["households"][1]["findings"][0]["category"] = 'x" onmouseover="alert(1)'
    page = render_html(report)
    assert 'onmouseover="alert(1)' not in page
    assert "x&quot; onmouseover=&quot;alert(1)" in page


def test_page_is_self_contained_chinese_and_locks_down_scripts(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in page
    assert 'name="viewport"' in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "@import" not in page
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert f"script-src 'sha256-{digest}'" in page
    assert "default-src 'none'" in page


def test_summary_tables_count_by_county_township_and_village(report):
    tables = tables_of(render_html(report))
    by_county = tables["按县"]
    assert by_county[0][:7] == ["县", "户数", "有问题户数", "问题数", "高严重度", "中严重度", "低严重度"]
    assert by_county[1][:7] == ["封丘县", "6", "4", "9", "3", "3", "3"]
    assert by_county[2][:7] == ["兰考县", "3", "3", "7", "1", "5", "1"]
    by_village = {tuple(row[:3]): row[3:6] for row in tables["按村"][1:]}
    assert by_village[("封丘县", "城关镇", "东街村")] == ["2", "1", "2"]
    assert by_village[("兰考县", "谷营镇", "李寨村")] == ["1", "1", "1"]
    header = tables["按乡镇"][0]
    town = next(row for row in tables["按乡镇"] if row[1] == "陈固镇")
    assert town[header.index("不应识别为贫困户")] == "1"
    assert town[header.index("明白卡与责任体系不符")] == "1"


def test_chart_has_one_bar_label_per_category_present(report):
    page = render_html(report)
    chart = re.search(r"<svg.*?</svg>", page, re.S).group()
    assert chart.count('class="label"') == 15
    assert "表卡填写不规范" in chart


def test_each_household_shows_findings_evidence_basis_source_and_measures(report):
    page = render_html(report)
    assert page.count('<article class="household') == 9
    assert "帮扶措施与家庭劳动能力不符" in page
    assert "<th>members[0].age</th><td>73</td>" in page
    assert "河南省脱贫攻坚档案资料规范化建设指导意见 指标解释" in page
    assert "knowledge/rules/plan.rules:42" in page
    assert "建议措施：健康扶贫、低保兜底" in page
    assert "<b>低保兜底</b>：家庭无劳动力" in page
    assert "<th>assets.car</th><td>是</td>" in page


def test_ranking_table_only_with_grades(report):
    assert 'id="ranking"' not in render_html(report)
    tables = tables_of(render_html(report, grades=grade(report)))
    assert tables["县"][0] == ["名次", "县", "户数", "有问题户数", "高", "中", "低", "得分", "等次"]
    assert tables["县"][1] == ["1", "封丘县", "6", "4", "3", "3", "3", "70", "合格"]
    assert tables["乡镇"][-1] == ["4", "兰考县", "东坝头镇", "2", "2", "1", "4", "1", "40", "不合格"]


def test_unreadable_dossiers_are_listed(report):
    tables = tables_of(render_html(report))
    assert tables["未能核查的档案"][1] == ["data/lankao/broken.yaml", "12", "档案无法读取", "YAML 格式错误：第 12 行缺少冒号"]


def test_empty_report_renders():
    page = render_html({"version": 1, "households": [], "errors": [], "summary": {}})
    assert "没有发现问题" in page
    assert "核查 <b>0</b> 户" in page


# --- in a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Debian chromium driven by selenium, with a fresh profile and no network services."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("需要 /usr/bin/chromium 和 /usr/bin/chromedriver：apt-get install -y chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture()
def page_in_browser(browser, report, tmp_path):
    """The sample report opened from a file, as a reviewer would open it."""
    path = tmp_path / "报告.html"
    path.write_text(render_html(report, grades=grade(report)), encoding="utf-8")
    browser.get(path.as_uri())
    return browser


def visible_households(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [
        article.find_element(By.TAG_NAME, "h3").text.split(" · ")[0]
        for article in driver.find_elements(By.CSS_SELECTOR, "article.household")
        if article.is_displayed()
    ]


def choose(driver, select_id: str, visible_text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, select_id)).select_by_visible_text(visible_text)


def test_browser_opens_the_page_without_errors(page_in_browser):
    from selenium.webdriver.common.by import By

    assert page_in_browser.title == "档卡核查报告"
    assert page_in_browser.find_element(By.ID, "shown-count").text == "显示 9 / 9 户"
    # A script blocked by the page's own security policy would be logged here.
    assert [entry for entry in page_in_browser.get_log("browser") if entry["level"] == "SEVERE"] == []


def test_browser_search_keeps_matching_households(page_in_browser):
    from selenium.webdriver.common.by import By

    page_in_browser.find_element(By.ID, "search").send_keys("张德福")
    assert visible_households(page_in_browser) == ["HN-410727-0101-002"]
    search = page_in_browser.find_element(By.ID, "search")
    search.clear()
    search.send_keys("帮扶责任 超过")
    assert visible_households(page_in_browser) == ["HN-410225-0301-001"]


def test_browser_filters_by_severity_category_and_village(page_in_browser):
    from selenium.webdriver.common.by import By

    choose(page_in_browser, "filter-severity", "高")
    assert visible_households(page_in_browser) == [
        "HN-410727-0101-002",
        "HN-410727-0203-011",
        "HN-410727-0203-012",
        "HN-410225-0301-001",
    ]
    # Inside a shown household only the findings of the chosen severity stay.
    household = page_in_browser.find_element(By.ID, "household-1")
    shown = [item for item in household.find_elements(By.CSS_SELECTOR, "li.finding") if item.is_displayed()]
    assert len(shown) == 1
    choose(page_in_browser, "filter-severity", "全部严重程度")
    choose(page_in_browser, "filter-category", "表卡填写不规范")
    assert visible_households(page_in_browser) == ["HN-410727-0101-003"]
    choose(page_in_browser, "filter-category", "全部类别")
    choose(page_in_browser, "filter-village", "封丘县 陈固镇 王村")
    assert visible_households(page_in_browser) == ["HN-410727-0203-011", "HN-410727-0203-012", "HN-410727-0203-013"]
    page_in_browser.find_element(By.ID, "filter-with-findings").click()
    assert visible_households(page_in_browser) == ["HN-410727-0203-011", "HN-410727-0203-012"]
    assert page_in_browser.find_element(By.ID, "shown-count").text == "显示 2 / 9 户"


def test_browser_says_when_nothing_matches(page_in_browser):
    from selenium.webdriver.common.by import By

    page_in_browser.find_element(By.ID, "search").send_keys("不存在的户")
    assert visible_households(page_in_browser) == []
    assert page_in_browser.find_element(By.ID, "nothing-shown").is_displayed()
