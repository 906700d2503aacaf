"""A person's path through the web UI of the embedded server, in headless Chromium."""

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import argilla as rg
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.stack import LocalStack

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def dataset(client: rg.Argilla) -> rg.Dataset:
    workspace = rg.Workspace(name=f"ui-{uuid.uuid4().hex[:8]}", client=client).create()
    settings = rg.Settings(
        fields=[rg.TextField(name="text")],
        questions=[rg.LabelQuestion(name="label", labels=LABELS)],
        metadata=[rg.IntegerMetadataProperty(name="batch_id")],
    )
    created = rg.Dataset(name="browser-test", workspace=workspace, settings=settings, client=client).create()
    created.records.log(
        [
            rg.Record(
                id=f"r{i}", fields={"text": f"Who painted picture number {i} ?"}, metadata={"batch_id": 0}
            )
            for i in range(3)
        ]
    )
    return created


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda address: "sign-in" not in address, timeout=60_000)


def test_an_annotator_labels_a_record_in_the_ui(
    stack: LocalStack, page: Page, dataset: rg.Dataset, client: rg.Argilla
) -> None:
    login = json.loads((stack.home / "stack" / "credentials.json").read_text())
    sign_in(page, client.api_url, login["username"], login["password"])

    page.goto(f"{client.api_url}/dataset/{dataset.id}/annotation-mode")
    shown = page.get_by_text("Who painted picture number").first
    shown.wait_for(timeout=60_000)
    shown_text = shown.inner_text()
    page.locator("label[for='label_HUM']").click()
    submit = page.locator("button.button--submit")
    submit.wait_for(state="visible")
    submit.click()

    deadline = time.monotonic() + 30
    completed: list[rg.Record] = []
    while not completed and time.monotonic() < deadline:
        completed = list(dataset.records(query=rg.Query(filter=rg.Filter(("status", "==", "completed")))))
        time.sleep(0.2)
    assert len(completed) == 1, "the record submitted in the UI is not completed for the SDK"
    record = completed[0]
    assert record.fields["text"] in shown_text
    responses = record.responses["label"]
    assert [(response.value, response.status) for response in responses] == [("HUM", "submitted")]
