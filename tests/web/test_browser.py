"""The screens in a real browser: an SMS becomes an order that a department handles and a supervisor
reviews; the console catches up after its websocket is cut; a call taken by keyboard is merged; the
administration screens. Every request the browser makes must stay on the product's own host."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, Playwright, WebSocketRoute, expect, sync_playwright

from hotline.timefmt import CHINA_TZ as CHINA
from tests.web.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Product,
    Requests,
    log_in,
    new_context,
    platform_stand_in,
    require_chromium,
    running_product,
    screenshot,
    screenshot_folder,
)

SMS_TO_QUEUE_SECONDS = 2.0
PROPOSAL_SECONDS = 30  # the proposal job runs every second in the harness
PUSHED_SECONDS = 10  # well under the workbench's and the dashboard's own refresh (30 s, 60 s): only a push is in time
RECONNECT_TIMEOUT_MS = 15_000
KB_FIRST_QUERY_MS = 15_000  # the first search after a publish rebuilds the index


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    require_chromium()
    with platform_stand_in() as platform, running_product(tmp_path_factory.mktemp("product"), platform) as running:
        yield running


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    require_chromium()
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def requests(product: Product) -> Iterator[Requests]:
    """Requests of every test in the module; at the end none may have left the product's host."""
    seen = Requests()
    yield seen
    assert seen.urls, "the browser made no request at all"
    assert seen.foreign(product.netloc) == []


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_folder(tmp_path_factory.mktemp("shots"))


def _page(browser: Browser, requests: Requests) -> Page:
    return new_context(browser, requests).new_page()


def _queue_item(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#queue li", has_text=text)


def test_an_sms_becomes_an_order_a_department_handles_and_a_supervisor_reviews(
    product: Product, browser: Browser, requests: Requests, shots: Path
) -> None:
    operator = _page(browser, requests)
    operator.goto(product.base + "/")
    screenshot(operator, shots, "login")
    log_in(operator, product, "operator1", "operator")
    expect(operator.locator("#link-state")).to_have_text("已连接")

    tag = uuid.uuid4().hex[:8]
    sent = product.send_sms(f"梁园区平原街道建设路小区楼下夜间施工噪音扰民，影响休息 {tag}")
    item = _queue_item(operator, tag)
    expect(item).to_be_visible(timeout=SMS_TO_QUEUE_SECONDS * 1000)
    latency = time.monotonic() - sent
    print(f"SMS on the console {latency:.2f} s after the webhook was called")
    assert latency < SMS_TO_QUEUE_SECONDS
    number = item.locator(".number").inner_text()

    item.click()
    expect(operator.locator("#order-number")).to_have_text(number)
    expect(operator.locator("#f-content")).to_have_value(re.compile(tag))
    expect(operator.locator("#s-explain")).not_to_be_empty()  # the routing proposal arrived
    expect(operator.locator("#f-territory option:checked")).to_contain_text("平原街道")  # located from the text
    operator.get_by_label("主办单位").select_option(label="梁园区人民政府")
    screenshot(operator, shots, "console")

    department = _page(browser, requests)  # the district's workbench is open before the order reaches it
    log_in(department, product, "dept_liangyuan1", "department_staff")
    expect(department.locator("#link-state")).to_have_text("已连接")
    expect(department.locator("#wb-count")).to_have_text(re.compile(r"共 \d+ 件"))
    row = department.locator("#wb-rows tr", has_text=number)
    expect(row).to_have_count(0)

    operator.keyboard.press("Alt+D")
    expect(operator.locator("#order-status")).to_have_text("已派单")
    expect(item).to_have_count(0)  # it left the queue
    expect(row).to_be_visible(timeout=PUSHED_SECONDS * 1000)  # pushed: the list's own refresh is every 30 s
    row.click()
    expect(department.locator("#wd-number")).to_have_text(number)
    expect(department.locator("#wd-territory")).to_have_text("梁园区平原街道办事处")  # the operator kept it
    department.get_by_role("button", name="签收").click()
    expect(department.locator("#wd-status")).to_have_text("办理中")
    extension = department.locator("#wd-extension")
    extension.get_by_label("申请延至").fill("2030-12-31T17:30")
    extension.get_by_label("延期理由").fill("需协调施工单位调整工期")
    extension.get_by_role("button", name="提交延期申请").click()
    expect(department.locator("#wd-status")).to_have_text("办理中（延期审批中）")

    supervisor = _page(browser, requests)
    log_in(supervisor, product, "supervisor1", "supervisor")
    expect(supervisor.locator("#link-state")).to_have_text("已连接")
    extension_card = supervisor.locator("#ex-list li", has_text=number)
    expect(extension_card).to_contain_text("需协调施工单位调整工期")
    extension_card.get_by_role("button", name="批准延期").click()
    expect(supervisor.locator("#toast")).to_contain_text("已批准延期")
    expect(extension_card).to_have_count(0)

    department.locator("#wb-rows tr", has_text=number).click()
    expect(department.locator("#wd-due")).to_contain_text("2030/12/31 17:30")
    department.get_by_label("办理结果").fill("已联系施工单位，夜间停止施工，并安排执法人员巡查。")
    photo = {"name": "现场照片.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + bytes(64)}
    department.get_by_label("附件（照片、PDF、Word 等，可多选）").set_input_files([photo])  # type: ignore[list-item]
    department.evaluate("window.scrollTo(0, 0)")
    screenshot(department, shots, "workbench")
    department.get_by_role("button", name="提交回复").click()
    expect(department.locator("#wd-status")).to_have_text("回复审核")
    expect(department.get_by_role("button", name="提交回复")).to_be_hidden()  # nothing more to do here
    expect(department.locator("#wd-files a", has_text="现场照片.png")).to_be_visible()

    review = supervisor.locator("#rr-list li", has_text=number)  # the dashboard stayed open: pushed
    expect(review).to_be_visible(timeout=PUSHED_SECONDS * 1000)
    expect(supervisor.locator("#c-channel canvas")).to_have_count(1)  # ECharts drew the charts
    expect(supervisor.locator("#c-hot canvas")).to_have_count(1)
    expect(supervisor.locator("#k-open")).to_have_text(re.compile(r"^\d+$"))
    supervisor.evaluate("window.scrollTo(0, 0)")
    screenshot(supervisor, shots, "dashboard")
    supervisor.get_by_label("关键词").fill(number)
    supervisor.get_by_role("button", name="查询").click()
    with supervisor.expect_download() as download:  # the export follows the search: this one order
        supervisor.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    exported = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert exported is not None and [row[0] for row in exported.iter_rows(min_row=2, values_only=True)] == [number]
    supervisor.locator("#s-rows tr", has_text=number).click()
    history = supervisor.locator("#s-detail .history")
    for step in ("派单", "签收", "回复"):
        expect(history).to_contain_text(step)
    expect(supervisor.locator("#s-detail .files a", has_text="现场照片.png")).to_be_visible()  # the reply's photo
    review.get_by_role("button", name="审核通过").click()
    expect(supervisor.locator("#toast")).to_contain_text("审核通过")
    expect(review).to_have_count(0)


def test_the_console_catches_up_after_its_websocket_is_cut(
    product: Product, browser: Browser, requests: Requests
) -> None:
    page = _page(browser, requests)
    state = {"cut": False}
    sockets: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        if state["cut"]:
            ws.close()  # the network is down: reconnecting fails until it is back
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/ws/console$"), route)
    log_in(page, product, "operator1", "operator")
    link = page.locator("#link-state")
    expect(link).to_have_text("已连接")
    before = uuid.uuid4().hex[:8]
    product.send_sms(f"小区路灯不亮 {before}", sender="+8613700137001")
    expect(_queue_item(page, before)).to_be_visible()

    state["cut"] = True
    for ws in sockets:
        ws.close()
    expect(link).to_have_text(re.compile("连接中断"))
    missed = [uuid.uuid4().hex[:8] for _ in range(2)]
    for n, tag in enumerate(missed):
        product.send_sms(f"停水没有通知 {tag}", sender=f"+861380013800{n}")
    expect(_queue_item(page, missed[0])).to_have_count(0)  # nothing can arrive while the link is down

    state["cut"] = False
    restored = time.monotonic()
    expect(link).to_have_text("已连接", timeout=RECONNECT_TIMEOUT_MS)
    for tag in missed:
        expect(_queue_item(page, tag)).to_be_visible()
    print(f"console caught up {time.monotonic() - restored:.2f} s after the network came back")
    after = uuid.uuid4().hex[:8]
    product.send_sms(f"垃圾清运不及时 {after}", sender="+8613900139009")
    expect(_queue_item(page, after)).to_be_visible(timeout=SMS_TO_QUEUE_SECONDS * 1000)  # live again


def test_a_call_taken_by_keyboard_gets_suggestions_and_is_merged_into_the_open_order(
    product: Product, browser: Browser, requests: Requests, shots: Path
) -> None:
    page = _page(browser, requests)
    log_in(page, product, "operator1", "operator")
    expect(page.locator("#link-state")).to_have_text("已连接")
    tag = uuid.uuid4().hex[:8]
    text = f"睢阳区古城街道文化路菜市场门口占道经营堵塞交通 {tag}"
    product.send_sms(text, sender="+8613600136111")
    first = _queue_item(page, tag)
    expect(first).to_be_visible()
    open_number = first.locator(".number").inner_text()

    product.incoming_call("+8613600136222")
    expect(page.locator("#calls li", has_text="13600136222")).to_be_visible()  # the call waits in the queue
    expect(page.locator("#calls-waiting")).not_to_have_text("0")
    page.keyboard.press("Alt+N")
    expect(page.locator("#order-number")).to_have_text("（新工单）")
    expect(page.locator("#f-content")).to_be_focused()
    page.keyboard.type(text)
    expect(page.locator("#s-categories .chip").first).to_be_visible()  # suggestions as the operator types
    expect(page.locator("#s-territory")).to_contain_text("睢阳区")
    similar = page.locator("#similar li", has_text=open_number)
    expect(similar).to_be_visible()
    screenshot(page, shots, "console-order")
    similar.get_by_role("button", name="并入此单").click()
    expect(page.locator("#order-status")).to_have_text("已并单")


def test_an_operator_answers_a_call_directly_with_a_knowledge_base_answer(
    product: Product, browser: Browser, requests: Requests
) -> None:
    tag = uuid.uuid4().hex[:6]
    with product.api("supervisor1") as api:
        entry = api.post(
            "/api/v1/kb/entries",
            json={"question": f"居住证{tag}怎么办理", "answer": f"携带身份证和居住证明到社区警务室申请，答复{tag}。"},
        )
        assert entry.status_code == 201, entry.text
        for step in ("submit", "publish"):
            assert api.post(f"/api/v1/kb/entries/{entry.json()['id']}/{step}", json={}).status_code == 200
    page = _page(browser, requests)
    log_in(page, product, "operator1", "operator")
    page.keyboard.press("Alt+N")
    page.get_by_label("诉求人电话").fill("13800138555")
    page.get_by_label("诉求内容").fill(f"想问一下居住证{tag}怎么办理")
    answer = page.locator("#kb-results li", has_text=f"居住证{tag}")
    expect(answer).to_be_visible(timeout=KB_FIRST_QUERY_MS)
    answer.get_by_role("button", name="采用答复").click()
    expect(page.get_by_label("答复内容（直接办结时必填）")).to_have_value(re.compile(f"答复{tag}"))
    page.keyboard.press("Alt+A")
    expect(page.locator("#order-status")).to_have_text("已回复")
    number = page.locator("#order-number").inner_text()
    with product.api("supervisor1") as api:
        order = api.get("/api/v1/tickets", params={"q": number}).json()["items"][0]
        assert api.get(f"/api/v1/tickets/{order['id']}").json()["answer"].endswith(f"答复{tag}。")


def test_an_operator_links_a_service_guide_to_the_order_and_looks_up_the_applicants_case(
    product: Product, browser: Browser, requests: Requests, shots: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    product.send_sms(f"开美容店要办公共场所卫生许可，需要准备哪些材料？我的申请SQ2026110100123到哪一步了 {tag}")
    page = _page(browser, requests)
    log_in(page, product, "operator1", "operator")
    item = _queue_item(page, tag)
    item.click()
    linked = page.locator("#items-linked")
    expect(linked).to_contain_text("暂无关联事项")

    page.get_by_label("搜索政务服务事项").fill("卫生许可")  # imported from the platform's catalogue
    found = page.locator("#items-results li", has_text="公共场所卫生许可")
    found.locator("summary").click()
    expect(found).to_contain_text("卫生检测报告")  # the guide's materials, to read out to the citizen
    found.get_by_role("button", name="关联到工单").click()
    expect(linked.locator("li", has_text="公共场所卫生许可")).to_be_visible()

    cases = page.locator("#case-form")
    cases.get_by_label("申请编号").fill("SQ2026110100123")
    cases.get_by_role("button", name="查询").click()
    result = page.locator("#case-result")
    expect(result).to_contain_text("审查中")
    expect(result).to_contain_text("受理：已完成")
    page.locator("#items-title").scroll_into_view_if_needed()
    screenshot(page, shots, "console-services")
    cases.get_by_label("申请编号").fill("SQ2026110199999")
    cases.get_by_role("button", name="查询").click()
    expect(result).to_contain_text("政务服务平台没有该办件")

    page.reload()  # the link is stored with the order
    log_item = _queue_item(page, tag)
    log_item.click()
    expect(page.locator("#items-linked li", has_text="公共场所卫生许可")).to_be_visible()


ANSWER = "答复（可用 p、b、ul/li、a 等格式）"


def test_a_unit_writes_an_entry_a_supervisor_publishes_it_and_its_versions_compare_and_roll_back(
    product: Product, browser: Browser, requests: Requests, shots: Path
) -> None:
    question = f"老旧小区加装电梯怎么申请{uuid.uuid4().hex[:6]}"
    unit = _page(browser, requests)
    log_in(unit, product, "dept_zhujian1", "department_staff")
    unit.get_by_role("link", name="知识库维护").click()
    unit.get_by_role("button", name="新建条目").click()
    editor = unit.locator("#ke-form")
    editor.get_by_label("问题").fill(question)
    editor.get_by_label("相似问法（每行一个）").fill("加装电梯补贴\n旧楼装电梯")
    editor.get_by_label(ANSWER).fill("由业主向街道提出申请，补贴每台20万元。")
    editor.get_by_label("政策依据（文件及文号）").fill("市住建〔2026〕12号")
    last_day = datetime.now(CHINA).date() + timedelta(days=10)
    editor.get_by_label("失效日期（含当日）").fill(last_day.isoformat())
    editor.get_by_role("button", name="保存").click()
    expect(unit.locator("#ke-state")).to_contain_text("草稿")
    editor.get_by_role("button", name="提交审核").click()
    expect(unit.locator("#ke-state")).to_contain_text("待审核")
    expect(editor.get_by_role("button", name="发布")).to_be_hidden()  # publishing is the supervisor's

    supervisor = _page(browser, requests)
    log_in(supervisor, product, "supervisor1", "supervisor")
    supervisor.get_by_role("link", name="知识库维护").click()
    supervisor.get_by_label("状态").select_option(label="待审核")
    supervisor.locator("#kn-rows tr", has_text=question).click()
    supervisor.locator("#ke-form").get_by_role("button", name="发布").click()
    expect(supervisor.locator("#ke-state")).to_contain_text("已发布")
    expect(supervisor.locator("#ke-state")).to_contain_text("可检索")

    unit.reload()
    unit.locator("#kn-rows tr", has_text=question).click()
    editor.get_by_label(ANSWER).fill("由业主向街道提出申请，补贴每台25万元。")
    editor.get_by_label("修改说明").fill("补贴标准调整")
    editor.get_by_role("button", name="保存").click()
    expect(unit.locator("#ke-state")).to_contain_text("检索使用已发布的 v1")  # search keeps the published answer
    versions = unit.locator("#ke-versions li")
    expect(versions).to_have_count(2)
    versions.filter(has_text="补贴标准调整").get_by_role("button", name="与上一版对比").click()
    expect(unit.locator("#ke-diff")).to_contain_text("+由业主向街道提出申请，补贴每台25万元。")
    unit.evaluate("window.scrollTo(0, 0)")
    unit.locator("#ke-diff").scroll_into_view_if_needed()
    screenshot(unit, shots, "knowledge")
    versions.filter(has_text="v1").get_by_role("button", name="回滚到此版本").click()
    expect(unit.locator("#ke-state")).to_contain_text("当前版本 v3")
    expect(editor.get_by_label(ANSWER)).to_have_value("由业主向街道提出申请，补贴每台20万元。")
    unit.get_by_label("状态").select_option(label="30 天内到期")  # to renew or retire it in time
    expect(unit.locator("#kn-rows tr", has_text=question)).to_contain_text(last_day.isoformat())


def test_a_supervisor_accepts_a_closed_consultations_proposal_as_a_draft_entry(
    product: Product, browser: Browser, requests: Requests
) -> None:
    question = f"残疾人两项补贴在哪里申请{uuid.uuid4().hex[:6]}"
    with product.api("operator1") as api:
        order = api.post("/api/v1/tickets", json={"content": question, "request_type": "consultation"}).json()
        steps = [("answer-directly", {"answer": "向户籍所在地街道办事处残联专干提出申请。"}), ("close", None)]
        for step, body in steps:
            assert api.post(f"/api/v1/tickets/{order['id']}/{step}", json=body).status_code == 200
    with product.api("supervisor1") as api:
        deadline = time.monotonic() + PROPOSAL_SECONDS
        while question not in api.get("/api/v1/kb/proposals").text:  # the background job proposes it
            assert time.monotonic() < deadline, "no proposal from the closed consultation"
            time.sleep(0.2)

    page = _page(browser, requests)
    log_in(page, product, "supervisor1", "supervisor")
    page.get_by_role("link", name="知识库维护").click()
    card = page.locator("#kp-list li", has_text=question)
    expect(card).to_contain_text("向户籍所在地街道办事处残联专干提出申请。")
    card.get_by_role("button", name="采纳为新条目").click()
    expect(card).to_have_count(0)
    expect(page.locator("#ke-form").get_by_label("问题")).to_have_value(question)
    expect(page.locator("#ke-state")).to_contain_text("草稿")


def test_a_supervisor_imports_the_centers_faq_table_after_fixing_the_row_it_refused(
    product: Product, browser: Browser, requests: Requests, tmp_path: Path
) -> None:
    key = uuid.uuid4().hex[:6]
    table = tmp_path / "faq.csv"
    rows = (
        "编号,问题,相似问法,答案,责任单位\n"
        f"{key}-1,新生儿医保怎么办理{key}？,新生儿参保|宝宝医保,出生后携带户口簿到社区办理。,市医保局\n"
        f"{key}-2,燃气开户需要什么材料{key}？,,房产证和身份证。,没有这个单位\n"
    )
    table.write_text(rows, encoding="utf-8")
    page = _page(browser, requests)
    log_in(page, product, "supervisor1", "supervisor")
    page.get_by_role("link", name="知识库维护").click()
    page.get_by_text("批量导入", exact=True).click()
    importer = page.locator("#ki-form")
    importer.get_by_label("文件（Excel、CSV、JSON 或 JSONL）").set_input_files(table)
    importer.get_by_role("button", name="导入").click()
    expect(page.locator("#ki-result")).to_contain_text("第2条的责任单位“没有这个单位”不存在（未导入任何条目）")
    expect(page.locator("#kn-rows tr", has_text=f"新生儿医保怎么办理{key}")).to_have_count(0)

    table.write_text(rows.replace("没有这个单位", "市住建局"), encoding="utf-8")
    importer.get_by_label("文件（Excel、CSV、JSON 或 JSONL）").set_input_files(table)
    importer.get_by_role("button", name="导入").click()
    expect(page.locator("#ki-result")).to_contain_text("新增 2 条")
    expect(page.locator("#ki-result")).to_contain_text("待审核")
    page.locator("#kn-rows tr", has_text=f"新生儿医保怎么办理{key}").click()
    expect(page.locator("#ke-state")).to_contain_text("待审核")
    expect(page.locator("#ke-form").get_by_label("相似问法（每行一个）")).to_have_value("新生儿参保\n宝宝医保")
    expect(page.locator("#ke-versions li").first).to_contain_text("批量导入")

    page.get_by_label("状态").select_option(label="待审核")
    with page.expect_download() as download:
        page.locator("#kn-export").get_by_role("link", name="Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True).worksheets[0]
    questions = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert f"新生儿医保怎么办理{key}？" in questions  # the table the import reads, to edit and import again


def test_a_unit_returns_an_order_with_a_reason_code_and_the_dispatcher_agrees(
    product: Product, browser: Browser, requests: Requests
) -> None:
    with product.api("operator1") as api:
        order = api.post(
            "/api/v1/tickets", json={"content": "市区主干道路灯整排不亮", "citizen_phone": "13800138777"}
        ).json()
        unit = next(u for u in api.get("/api/v1/units").json() if u["code"] == "liangyuan")
        assert api.post(f"/api/v1/tickets/{order['id']}/dispatch", json={"lead_unit_id": unit["id"]}).status_code == 200
    department = _page(browser, requests)
    log_in(department, product, "dept_liangyuan1", "department_staff")
    department.locator("#wb-rows tr", has_text=order["number"]).click()
    expect(department.locator("#wd-number")).to_have_text(order["number"])
    returned = department.locator("#wd-return")
    returned.get_by_label("退单原因").select_option(index=0)
    returned.get_by_label("说明").fill("主干道路灯由市城管局维护，不属于区政府职责")
    returned.get_by_role("button", name="提交退单").click()
    expect(department.locator("#wd-status")).to_have_text("退单审核")

    operator = _page(browser, requests)  # a console is open while the dispatcher judges the return
    log_in(operator, product, "operator1", "operator")
    expect(operator.locator("#link-state")).to_have_text("已连接")
    waiting = operator.locator("#queue li", has_text=order["number"])
    expect(waiting).to_have_count(0)

    dispatcher = _page(browser, requests)
    log_in(dispatcher, product, "dispatcher1", "operator")
    dispatcher.get_by_role("link", name="督办看板").click()
    card = dispatcher.locator("#rt-list li", has_text=order["number"])
    card.get_by_role("button", name="同意退单").click()
    expect(dispatcher.locator("#toast")).to_contain_text("已同意退单")
    expect(card).to_have_count(0)

    expect(waiting).to_contain_text("退单待改派", timeout=PUSHED_SECONDS * 1000)  # back in the queue, pushed
    waiting.click()
    expect(operator.locator("#order-number")).to_have_text(order["number"])
    operator.get_by_label("主办单位").select_option(label="市城市管理局")
    operator.keyboard.press("Alt+D")  # re-dispatched (改派) to the bureau
    expect(operator.locator("#order-status")).to_have_text("已派单")
    expect(waiting).to_have_count(0)


def test_administrators_see_accounts_categories_catalogue_and_masked_channel_secrets(
    product: Product, browser: Browser, requests: Requests, shots: Path
) -> None:
    admin = _page(browser, requests)
    log_in(admin, product, "admin1", "system_admin")
    admin.get_by_role("tab", name="渠道").click()
    sms = admin.locator("#tab-channels tr", has_text="短信")
    expect(sms).to_contain_text("已配置")
    expect(admin.locator("#tab-channels")).not_to_contain_text("browser-twilio-auth-token")
    admin.get_by_role("tab", name="分类").click()
    category = admin.locator("#category-form")
    category.get_by_label("上级分类").select_option(label="环境保护 / 噪声污染")
    category.get_by_label("编码").fill("environment.noise.square_dance")
    category.get_by_label("名称").fill("广场舞噪音")
    category.get_by_role("button", name="新增分类").click()
    expect(admin.locator("#categories tr", has_text="环境保护 / 噪声污染 / 广场舞噪音")).to_contain_text("启用")
    admin.get_by_role("tab", name="派单目录").click()
    expect(admin.locator("#tab-catalogue tbody tr").first).to_be_visible()
    screenshot(admin, shots, "admin")

    admin.locator("#rules tr").first.get_by_role("button", name="修改").click()  # a rule edited in place
    edit = admin.locator("#rule-edit-form")
    lead = edit.get_by_label("主办单位").input_value()
    assisting = admin.evaluate(
        "(lead) => [...document.querySelectorAll('#rule-edit-assist option')].find((o) => o.value != lead).text",
        lead,
    )
    edit.get_by_label("协办单位（可多选）").select_option(label=assisting)
    edit.get_by_label("备注").fill("夜间由协办单位先行处置")
    edit.get_by_label("修改说明").fill("增加协办单位")
    edit.get_by_role("button", name="保存修改").click()
    expect(edit).to_be_hidden()
    edited = admin.locator("#rules tr", has_text="夜间由协办单位先行处置")
    expect(edited).to_contain_text(assisting)
    expect(edited).to_contain_text("v2")
    edited.get_by_role("button", name="修改").click()
    expect(admin.locator("#rule-history li")).to_have_count(2)  # the first version stays in the history
    expect(admin.locator("#rule-history li").last).to_contain_text("增加协办单位")

    admin.get_by_role("tab", name="单位").click()  # a street office opens in 梁园区, then is closed again
    unit = admin.locator("#unit-form")
    unit.get_by_label("类型").select_option(label="乡镇街道")
    unit.get_by_label("上级单位").select_option(label="梁园区人民政府")
    unit.get_by_label("名称").fill("梁园区星河街道办事处")
    unit.get_by_label("编码").fill("liangyuan_xinghe")
    unit.get_by_label("简称（逗号分隔）").fill("星河街道，星河办")
    unit.get_by_role("button", name="新增单位").click()
    street = admin.locator("#units tr", has=admin.get_by_label("梁园区星河街道办事处 名称"))
    expect(street).to_contain_text("启用")
    street.get_by_role("button", name="停用").click()
    expect(street).to_contain_text("已停用")

    security = _page(browser, requests)
    log_in(security, product, "security1", "security_admin")
    security.get_by_role("tab", name="用户与角色").click()
    name = "op" + uuid.uuid4().hex[:6]
    form = security.locator("#user-form")
    form.get_by_label("用户名").fill(name)
    form.get_by_label("姓名").fill("新话务员")
    form.get_by_label("角色").select_option("operator")
    form.get_by_label("初始密码").fill("Initial-Passw0rd!")
    form.get_by_role("button", name="新建账号").click()
    expect(security.locator("#users tr", has_text=name)).to_contain_text("话务员")

    auditor = _page(browser, requests)
    log_in(auditor, product, "auditor1", "auditor")
    expect(auditor.locator("#au-rows tr", has_text="user.created")).to_contain_text("security1")
    screenshot(auditor, shots, "audit")
