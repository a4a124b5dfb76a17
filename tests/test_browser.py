"""Browser test of the demo hub: real headless Chromium via Playwright.

The hub runs in a subprocess, `python -m demos --tiny-test-model --port
N` (tiny models trained at start-up, no preset needed), with
`GRADIO_ANALYTICS_ENABLED=False` and `GRADIO_TEMP_DIR` in `tmp_path`; it
is stopped with SIGINT. Chromium is Debian's `/usr/bin/chromium`
(`apt-get install -y chromium`), driven by Playwright's sync API with
the flags of conventions.md section 6; no `playwright install`.

The test is skipped when Chromium or Playwright is missing, unless
`HYPERZOO_REQUIRE_BROWSER=1`, which turns the skip into a failure.
Screenshots go to `$HYPERZOO_ARTIFACTS` when set, else to `tmp_path`.
"""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.request

import pytest

from zoo.data import DIGITS_CLASS_NAMES

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_TIMEOUT_S = 240  # the hub builds every tab at start (CI: 2 cores)
TAB = "hyper_mlp_digits"
EXAMPLE = "4 (test #1)"  # the test-split "4" the tiny model gets right


def _skip_or_fail(reason):
    if os.environ.get("HYPERZOO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (HYPERZOO_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sync_playwright():
    if not os.path.exists(CHROMIUM):
        _skip_or_fail(
            f"{CHROMIUM} not found; install it with "
            "`apt-get install -y chromium`"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright is not installed (pip install playwright)")
    return sync_playwright


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path, chars=3000):
    return pathlib.Path(path).read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hub")
    port = _free_port()
    env = dict(
        os.environ,
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(tmp / "gradio"),
        PYTHONPATH=os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    )
    log = tmp / "hub.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "demos", "--tiny-test-model",
             "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the hub exited with {proc.returncode}:\n"
                    + _log_tail(log)
                )
            try:
                with urllib.request.urlopen(url, timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the hub did not answer on {url} within "
                        f"{SERVER_TIMEOUT_S} s:\n" + _log_tail(log)
                    )
                time.sleep(0.1)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def browser_page(sync_playwright, hub_url):
    """Yields `.page` (the hub, loaded) and `.problems` (console errors,
    page errors and requests to other hosts, as strings)."""
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on(
                "console",
                lambda msg: problems.append(f"console: {msg.text}")
                if msg.type == "error" else None,
            )
            page.on(
                "pageerror", lambda exc: problems.append(f"page: {exc}")
            )
            # Everything must come from the hub (offline, no CDN); the
            # queue's event stream is aborted on purpose, so failed
            # requests to the hub itself are not problems.
            page.on(
                "request",
                lambda req: None if req.url.startswith(hub_url)
                or req.url.startswith("data:")
                else problems.append(f"external request: {req.url}"),
            )
            page.goto(hub_url, wait_until="networkidle")
            yield types.SimpleNamespace(page=page, problems=problems)
        finally:
            browser.close()


def _artifacts_dir(tmp_path):
    path = pathlib.Path(os.environ.get("HYPERZOO_ARTIFACTS") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open_model(page, name):
    """Opens a model's tab from the hub's "All models" page."""
    page.locator("#hub-tabs").get_by_role(
        "tab", name="All models", exact=True).click()
    page.locator(f"#open-{name}").click()
    page.locator(f"#tab-{name}").wait_for(state="visible", timeout=10_000)


def _top_label(page, timeout_ms=30_000):
    heading = page.locator(f"#{TAB}_label h2")
    heading.wait_for(state="visible", timeout=timeout_ms)
    return heading.inner_text().strip()


def _classify_a_digit(page, tab, timeout=30_000):
    """Clicks a tab's Classify button; a digit and 3 confidences show."""
    page.locator(f"#{tab}_classify-button").click()
    heading = page.locator(f"#{tab}_label h2")
    heading.wait_for(state="visible", timeout=timeout)
    assert heading.inner_text().strip() in DIGITS_CLASS_NAMES
    assert page.locator(f"#{tab}_label .confidence-set").count() == 3


def test_hub_classifies_an_example_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, TAB)
    page.get_by_text(EXAMPLE, exact=True).click()
    page.locator(f"#{TAB}_digit-image img").first.wait_for(state="visible")
    page.locator(f"#{TAB}_classify-button").click()
    assert _top_label(page) == "4"
    confidences = page.locator(f"#{TAB}_label .confidence-set")
    assert confidences.count() == 3
    weights = page.locator(f"#{TAB}_weights img").first
    weights.wait_for(state="visible")
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0",
        arg=weights.element_handle(),
    )
    assert weights.evaluate("el => el.naturalWidth") >= 256
    page.screenshot(
        path=str(_artifacts_dir(tmp_path) / "hub_example.png"),
        full_page=True,
    )
    assert not browser_page.problems, browser_page.problems


def test_hub_classifies_a_drawing_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, TAB)
    page.locator(f"#tab-{TAB}").get_by_role("tab", name="Draw").click()
    sketch = page.locator(f"#{TAB}_digit-sketch")
    # No click on the brush: the Draw tab picks it.
    brush = sketch.get_by_role("button", name="Brush").first
    page.wait_for_function("el => el.classList.contains('highlight')",
                           arg=brush.element_handle(), timeout=10_000)
    box = sketch.locator("canvas").first.bounding_box()
    x = box["x"] + box["width"] / 2
    y = box["y"] + box["height"] * 0.2
    # A vertical stroke from 20% to 80% of the canvas, in 4 moves: each
    # move re-renders the PixiJS canvas (~0.35 s in software GL) and the
    # brush joins the points with straight segments.
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 5):
        page.mouse.move(x, y + step * box["height"] * 0.15)
    page.mouse.up()
    page.locator(f"#{TAB}_classify-drawing-button").click()
    label = _top_label(page)
    page.screenshot(
        path=str(_artifacts_dir(tmp_path) / "hub_drawing.png"),
        full_page=True,
    )
    assert label in DIGITS_CLASS_NAMES
    assert label == "1", f"a vertical stroke was read as {label!r}"
    assert not browser_page.problems, browser_page.problems


CL_TAB = "hyper_cl_permuted_digits"
CL_EXAMPLE = "digit 4, test #1"


def test_hub_continual_learning_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, CL_TAB)
    page.locator(f"#{CL_TAB}_task input").click()
    page.get_by_role("option", name="task 2 (permutation 2)").click()
    page.get_by_text(CL_EXAMPLE, exact=True).click()
    page.locator(f"#{CL_TAB}_digit-image img").first.wait_for(
        state="visible"
    )
    _classify_a_digit(page, CL_TAB, timeout=30_000)
    inferred = page.locator(f"#{CL_TAB}_inferred textarea")
    page.wait_for_function(
        "el => el.value.startsWith('Without the task id') "
        "&& el.value.includes('the chosen task 2)')",
        arg=inferred.element_handle(),
    )
    for name in ("permuted", "accuracy"):
        img = page.locator(f"#{CL_TAB}_{name} img").first
        img.wait_for(state="visible")
        page.wait_for_function(
            "el => el.complete && el.naturalWidth > 0",
            arg=img.element_handle(),
        )
    page.screenshot(
        path=str(_artifacts_dir(tmp_path) / "hub_continual_learning.png"),
        full_page=True,
    )
    assert not browser_page.problems, browser_page.problems


UNEM_TAB = "unem_fewshot"


def _wait_for_text(page, selector, text, timeout_ms=120_000):
    element = page.locator(selector).first
    element.wait_for(state="attached", timeout=timeout_ms)
    page.wait_for_function(
        "([el, text]) => el.innerText.includes(text)",
        arg=[element.element_handle(), text],
        timeout=timeout_ms,
    )
    return element.inner_text()


def test_hub_unem_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, UNEM_TAB)
    params = _wait_for_text(page, f"#{UNEM_TAB}_parameters", "10")
    assert "lambda" in params
    page.locator(f"#{UNEM_TAB}_shots").get_by_text("1", exact=True).click()
    page.locator(f"#{UNEM_TAB}_sample-button").click()
    summary = _wait_for_text(page, f"#{UNEM_TAB}_episode-summary", "UNEM:")
    assert "1-shot" in summary
    table = _wait_for_text(page, f"#{UNEM_TAB}_episode-table",
                           "best on this task")
    assert "fixed-lambda EM (default)" in table
    page.locator(f"#{UNEM_TAB}_shift").get_by_text("noise",
                                                   exact=True).click()
    page.locator(f"#{UNEM_TAB}_cafa-button").click()
    cafa = _wait_for_text(page, f"#{UNEM_TAB}_cafa-summary", "CAFA")
    assert "noise" in cafa
    _wait_for_text(page, f"#{UNEM_TAB}_cafa-table", "noise: CAFA")
    page.screenshot(
        path=str(_artifacts_dir(tmp_path) / "hub_unem.png"), full_page=True
    )
    assert not browser_page.problems, browser_page.problems


T2D_TAB = "terminator_digits"
T2D_EXAMPLE = "test #1 (digit 4)"
T1D_TAB = "terminator_mnist1d"


def _wait_for_picture(page, selector, timeout_ms=60_000):
    """Waits until the `<img>` in `selector` has loaded; its width."""
    img = page.locator(f"{selector} img").first
    img.wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function("el => el.complete && el.naturalWidth > 0",
                           arg=img.element_handle(), timeout=timeout_ms)
    return img.evaluate("el => el.naturalWidth")


def test_hub_terminator_digits_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, T2D_TAB)
    page.get_by_text(T2D_EXAMPLE, exact=True).click()
    _wait_for_picture(page, f"#{T2D_TAB}_digit-image")
    _classify_a_digit(page, T2D_TAB, timeout=60_000)
    # The tiny model has two blocks: two 8x8 tiles of 192 px.
    assert _wait_for_picture(page, f"#{T2D_TAB}_kernels") == 2 * 196 + 4
    page.screenshot(path=str(_artifacts_dir(tmp_path)
                             / "hub_terminator_digits.png"), full_page=True)
    assert not browser_page.problems, browser_page.problems


def test_hub_terminator_mnist1d_tab_in_chromium(browser_page, tmp_path):
    from zoo.data import load_mnist1d

    page = browser_page.page
    _open_model(page, T1D_TAB)
    number = page.locator(f"#{T1D_TAB}_index input[type='number']")
    number.fill("7")
    number.press("Enter")
    page.locator(f"#{T1D_TAB}_classify-button").click()
    summary = _wait_for_text(page, f"#{T1D_TAB}_summary", "true label")
    label = int(load_mnist1d("test")[1][7])
    assert f"Test sample #7: true label {label}" in summary
    heading = page.locator(f"#{T1D_TAB}_label h2")
    heading.wait_for(state="visible")
    assert heading.inner_text().strip() in DIGITS_CLASS_NAMES
    assert _wait_for_picture(page, f"#{T1D_TAB}_signal") == 640
    assert _wait_for_picture(page, f"#{T1D_TAB}_kernels") == 40 * 12 + 8
    page.screenshot(path=str(_artifacts_dir(tmp_path)
                             / "hub_terminator_mnist1d.png"), full_page=True)
    assert not browser_page.problems, browser_page.problems


FC_TAB = "forecasting"


def _run_tab_on_index(page, tab, button, index):
    """Opens a hub tab, types a test-sample index and clicks `button`."""
    _open_model(page, tab)
    number = page.locator(f"#{tab}_index input[type='number']")
    number.fill(str(index))
    number.press("Enter")
    page.locator(f"#{tab}_{button}").click()


def test_hub_forecasting_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _run_tab_on_index(page, FC_TAB, "forecast-button", 4)
    summary = _wait_for_text(page, f"#{FC_TAB}_summary",
                             "valid prediction time")
    assert "Lorenz 96" in summary and "initial condition #4" in summary
    assert _wait_for_picture(page, f"#{FC_TAB}_spacetime") == 900
    assert _wait_for_picture(page, f"#{FC_TAB}_curve") == 640
    page.screenshot(path=str(_artifacts_dir(tmp_path)
                             / "hub_forecasting.png"), full_page=True)
    assert not browser_page.problems, browser_page.problems


TEV_TAB = "token_exit"


def test_hub_token_exit_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _run_tab_on_index(page, TEV_TAB, "answer-button", 4)
    summary = _wait_for_text(page, f"#{TEV_TAB}_summary", "decoder FLOPs")
    assert "-0." not in summary and "%" in summary
    assert "Test image #4" in summary and "Image tokens exited" in summary
    heading = page.locator(f"#{TEV_TAB}_answers h2")
    heading.wait_for(state="visible")
    from zoo.data.digits_vqa import ANSWERS

    assert heading.inner_text().strip() in ANSWERS
    assert _wait_for_picture(page, f"#{TEV_TAB}_image") == 192
    assert _wait_for_picture(page, f"#{TEV_TAB}_plot") == 640
    page.screenshot(path=str(_artifacts_dir(tmp_path)
                             / "hub_token_exit.png"), full_page=True)
    assert not browser_page.problems, browser_page.problems


def test_every_model_is_reachable_from_the_model_list(browser_page,
                                                      tmp_path):
    from demos.hub import tabs

    page = browser_page.page
    cards = page.locator("#hub-models")
    cards.wait_for(state="visible")
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_models.png"),
                    full_page=True)
    for tab in tabs():
        page.locator("#hub-tabs").get_by_role(
            "tab", name="All models", exact=True).click()
        button = page.locator(f"#open-{tab.name}")
        button.wait_for(state="visible", timeout=10_000)
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1400, tab.name
        _open_model(page, tab.name)
        assert page.locator(f"#tab-{tab.name}").is_visible(), tab.name
        assert not cards.is_visible()
    assert not browser_page.problems, browser_page.problems


def test_errors_leave_no_empty_error_badge(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, TAB)
    page.locator(f"#{TAB}_classify-button").click()  # no picture
    status = _wait_for_text(page, f"#{TAB}_status", "No picture received")
    assert status.startswith("Error:")
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_error.png"),
                    full_page=True)
    for output in ("label", "weights", "status"):
        badges = page.locator(f"#{TAB}_{output} .error")
        assert badges.count() == 0, output
    # The next good request clears the message.
    page.get_by_text(EXAMPLE, exact=True).click()
    page.locator(f"#{TAB}_digit-image img").first.wait_for(state="visible")
    page.locator(f"#{TAB}_classify-button").click()
    assert _top_label(page) == "4"
    page.wait_for_function(
        "el => el.innerText.trim() === ''",
        arg=page.locator(f"#{TAB}_status").element_handle())
    assert not browser_page.problems, browser_page.problems


PR_TAB = "pruning"


def _prune(page, tab):
    """Clicks a pruning tab's button; its summary once both pictures came."""
    page.locator(f"#{tab}_prune-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "Test accuracy")
    assert _wait_for_picture(page, f"#{tab}_bars") == 640
    assert _wait_for_picture(page, f"#{tab}_histogram") == 640
    return summary


def test_hub_pruning_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, PR_TAB)
    page.locator(f"#{PR_TAB}_method").get_by_text(
        "Uniform per-layer MP", exact=True).click()
    number = page.locator(f"#{PR_TAB}_sparsity input[type='number']")
    number.fill("50")
    number.press("Enter")
    summary = _prune(page, PR_TAB)
    # The tiny model's kernels: 36 + 216 + 60 weights, half of each zero.
    assert "Uniform per-layer MP" in summary
    assert "measured sparsity 50.00% (156 of 312" in summary
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_pruning.png"),
                    full_page=True)
    assert not browser_page.problems, browser_page.problems


HS_TAB = "hesso"


def test_hub_hesso_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, HS_TAB)
    # The tiny model (filters 3, 4) against its tiny dense reference (4, 6).
    table = _wait_for_text(page, f"#{HS_TAB}_widths-table", "total")
    assert "conv_0 | 4 -> 3 | 52 -> 39" in table.replace("\t", " | ")
    assert "362 -> 213" in table
    assert _wait_for_picture(page, f"#{HS_TAB}_widths") == 640
    page.locator(f"#tab-{HS_TAB}").get_by_text(
        "4 (test #1)", exact=True).click()
    _wait_for_picture(page, f"#{HS_TAB}_digit-image")
    _classify_a_digit(page, HS_TAB, timeout=60_000)
    page.locator(f"#tab-{HS_TAB}").get_by_role("tab", name="Draw").click()
    page.locator(f"#{HS_TAB}_classify-drawing-button").click()
    status = _wait_for_text(page, f"#{HS_TAB}_status", "No picture received")
    assert status.startswith("Error:")
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_hesso.png"),
                    full_page=True)
    assert not browser_page.problems, browser_page.problems


PT_TAB = "pruning_terminator"


def test_hub_pruning_terminator_tab_in_chromium(browser_page, tmp_path):
    page = browser_page.page
    _open_model(page, PT_TAB)
    summary = _prune(page, PT_TAB)  # Global MP, 50 %
    assert "Global MP" in summary and "measured sparsity" in summary
    page.screenshot(path=str(_artifacts_dir(tmp_path)
                             / "hub_pruning_terminator.png"), full_page=True)
    assert not browser_page.problems, browser_page.problems


def test_hub_token_exit_scenes_tab_in_chromium(browser_page, tmp_path):
    from zoo.data.tiny_scenes import ANSWERS

    tab = "token_exit_scenes"
    page = browser_page.page
    _open_model(page, tab)
    # A new scene: type its seed and press Enter (the preview updates).
    number = page.locator(f"#{tab}_seed input[type='number']")
    number.fill("5")
    number.press("Enter")
    _wait_for_text(page, f"#{tab}_scene-text", "Scene #5, 5 shapes")
    # A question: a family, then one of its questions.
    page.locator(f"#{tab}_family input").click()
    page.get_by_role("option", name="count", exact=True).click()
    page.locator(f"#{tab}_question input").click()
    page.get_by_role("option", name="How many bar?", exact=True).click()
    page.locator(f"#{tab}_answer-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "Image tokens exited")
    assert "Scene #5" in summary and "How many bar?" in summary
    assert "true 2" in summary and "attention on the image" in summary
    heading = page.locator(f"#{tab}_answers h2")
    heading.wait_for(state="visible")
    assert heading.inner_text().strip() in ANSWERS
    assert _wait_for_picture(page, f"#{tab}_image") == 288
    assert _wait_for_picture(page, f"#{tab}_attention") == 640
    assert _wait_for_picture(page, f"#{tab}_plot") == 640
    page.screenshot(path=str(_artifacts_dir(tmp_path)
                             / "hub_token_exit_scenes.png"), full_page=True)
    assert not browser_page.problems, browser_page.problems


# Issue 18 browser tests: neumeta, logah, d2nwg tabs below.


def test_hub_d2nwg_tab_in_chromium(browser_page, tmp_path):
    tab = "d2nwg"
    page = browser_page.page
    _open_model(page, tab)
    page.locator(f"#{tab}_sample-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "D2NWG")
    assert "Digits (0, 1, 2, 3, 6)" in summary and "5-shot" in summary
    table = _wait_for_text(page, f"#{tab}_table", "random init")
    assert "D2NWG sampled" in table
    assert _wait_for_picture(page, f"#{tab}_curve") == 640
    # Four digits only: an error in the status line, no badge.
    page.locator(f"#{tab}_classes").get_by_text("6", exact=True).click()
    page.locator(f"#{tab}_sample-button").click()
    status = _wait_for_text(page, f"#{tab}_status", "exactly 5")
    assert status.startswith("Error:")
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_d2nwg.png"),
                    full_page=True)
    assert not browser_page.problems, browser_page.problems


def test_hub_logah_tab_in_chromium(browser_page, tmp_path):
    tab = "logah"
    page = browser_page.page
    _open_model(page, tab)
    page.locator(f"#{tab}_compare-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "LoGAH")
    assert "mlp-48-40" in summary and "100 steps" in summary
    table = _wait_for_text(page, f"#{tab}_table", "He random init")
    assert "LoGAH predicted" in table
    assert _wait_for_picture(page, f"#{tab}_curve") == 640
    # A width above max_ck: an error in the status line, no badge.
    field = page.locator(f"#{tab}_architecture input")
    field.fill("100")
    field.press("Enter")
    page.locator(f"#{tab}_compare-button").click()
    status = _wait_for_text(page, f"#{tab}_status", "Widths must be")
    assert status.startswith("Error:")
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_logah.png"),
                    full_page=True)
    assert not browser_page.problems, browser_page.problems


def test_hub_neumeta_tab_in_chromium(browser_page, tmp_path):
    tab = "neumeta"
    page = browser_page.page
    _open_model(page, tab)
    page.locator(f"#{tab}_build-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "NeuMeta test")
    assert "Width" in summary and "parameters" in summary
    assert _wait_for_picture(page, f"#{tab}_weights") > 0
    # Another width, typed into the slider's number box: rebuilt live.
    field = page.locator(f"#{tab}_width input[type=number]")
    field.fill("3")
    field.press("Enter")
    page.locator(f"#{tab}_build-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "Width 3")
    assert "unseen in training" in summary
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_neumeta.png"),
                    full_page=True)
    assert not browser_page.problems, browser_page.problems


# Issue 20 browser tests: hyper_lora, svh_psl tabs below.


def test_hub_svh_psl_tab_in_chromium(browser_page, tmp_path):
    tab = "svh_psl"
    page = browser_page.page
    _open_model(page, tab)
    page.locator(f"#{tab}_solve-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "Preference")
    assert "r = (0.50, 0.50)" in summary and "f1 =" in summary
    table = _wait_for_text(page, f"#{tab}_table", "x6")
    assert "f2" in table
    assert _wait_for_picture(page, f"#{tab}_front") == 640
    # Another preference, typed into the slider's number box.
    field = page.locator(f"#{tab}_weight input[type=number]")
    field.fill("0.9")
    field.press("Enter")
    page.locator(f"#{tab}_solve-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "r = (0.90, 0.10)")
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_svh_psl.png"),
                    full_page=True)
    assert not browser_page.problems, browser_page.problems


def test_hub_hyper_lora_tab_in_chromium(browser_page, tmp_path):
    tab = "hyper_lora"
    page = browser_page.page
    _open_model(page, tab)
    page.locator(f"#{tab}_personalize-button").click()
    summary = _wait_for_text(page, f"#{tab}_summary", "Writer")
    assert "HyperLoRA" in summary and "test digits" in summary
    table = _wait_for_text(page, f"#{tab}_table", "base ViT")
    assert "HyperLoRA" in table
    assert _wait_for_picture(page, f"#{tab}_picture") == 640
    # A drawing number past the writer's digits: an error, no badge.
    field = page.locator(f"#{tab}_drawing input")
    field.fill("10000")
    field.press("Enter")
    page.locator(f"#{tab}_personalize-button").click()
    status = _wait_for_text(page, f"#{tab}_status", "must be a number in")
    assert status.startswith("Error:")
    page.screenshot(path=str(_artifacts_dir(tmp_path) / "hub_hyper_lora.png"),
                    full_page=True)
    assert not browser_page.problems, browser_page.problems
