"""``python -m maskdetect label``: the labelling page in a real headless Chromium, and the round trip through Label
Studio's task and export formats, on collections of real faces."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from conftest import ROOT, assert_one_line_error, free_port, snapshot
from helpers.collection import files_in, make_collection
from helpers.pages import CHROMIUM, CHROMIUM_FLAGS, token_file, wait_until_served

SCREENSHOT = ROOT / "test-artifacts" / "label_page.png"


def label(*args):
    """``python -m maskdetect label ARGS`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "maskdetect", "label", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _refused_without_token(url, data=None):
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    return refused.value.code


def _counts(page):
    return page.text_content("#counts")


def _wait(page, expression, seconds=20):
    """Wait until ``expression`` is true in the page (polled from here: the page's CSP forbids what
    wait_for_function evaluates in it)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        time.sleep(0.05)


def _counted(page, text):
    _wait(page, f"document.getElementById('counts').textContent.includes({json.dumps(text)})")


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Chromium is not installed")
def test_keys_in_chromium_sort_faces_into_class_folders_and_undo_puts_one_back(tmp_path):
    from playwright.sync_api import sync_playwright

    folder = tmp_path / "faces"
    ids = make_collection(folder, 6)
    before = files_in(folder)
    port = free_port()
    secret, token = token_file(tmp_path)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maskdetect",
            "label",
            str(folder),
            "--serve",
            f"127.0.0.1:{port}",
            "--serve-token-file",
            str(secret),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors = []
    try:
        url = f"http://127.0.0.1:{port}/"
        assert "labelling faces" in wait_until_served(f"{url}?token={token}")
        # Without the token nothing is shown or moved.
        assert _refused_without_token(f"{url}entries") == 401
        assert _refused_without_token(f"{url}face/0.png") == 401
        assert _refused_without_token(f"{url}move", json.dumps({"id": ids[0], "label": "with_mask"}).encode()) == 401
        assert files_in(folder) == before
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            # The page's own Content-Security-Policy applies: its inline script and style must pass it.
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("pageerror", lambda error: errors.append(str(error)))
            # (Chromium asks for a /favicon.ico the page has none of.)
            page.on(
                "console",
                lambda message: (
                    errors.append(message.text)
                    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
                    else None
                ),
            )
            page.goto(f"{url}?token={token}")
            _wait(page, "[...document.querySelectorAll('.tile img')].filter(image => image.naturalWidth === 128).length === 6")
            # Most doubtful first, and the first face chosen.
            assert page.eval_on_selector_all(".tile", "tiles => tiles.map(tile => tile.dataset.id)") == ids
            assert page.get_attribute(".tile.selected", "data-id") == ids[0]

            page.keyboard.press("2")  # the first face: without_mask
            _counted(page, "without_mask: 1")
            assert page.get_attribute(".tile.selected", "data-id") == ids[1]
            page.keyboard.press("ArrowRight")
            page.keyboard.press("1")  # the third face: with_mask
            _counted(page, "with_mask: 1")
            page.keyboard.press("u")  # ... undone
            _counted(page, "unsorted: 5")
            page.wait_for_selector(f".tile.selected[data-id='{ids[2]}']")
            page.click(f".tile[data-id='{ids[5]}'] button[data-label='not_a_face']")
            _counted(page, "not_a_face: 1")
            assert "unsorted: 4" in _counts(page) and "with_mask: 0" in _counts(page)
            assert page.eval_on_selector_all(".tile", "tiles => tiles.map(tile => tile.dataset.id)") == [
                ids[i] for i in (1, 2, 3, 4)
            ]
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl+C
        stdout, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert errors == []
    assert f"labelling page: http://127.0.0.1:{port}/?token=... (the token in {secret})" in stderr
    assert token not in stderr + stdout
    assert "6 face(s) to sort" in stdout and "moved 3 face(s) on the page, 1 of the moves undone" in stdout
    # On disk: each sorted face's three files in its class folder, the undone one back, nothing lost.
    for entry_id, place in ((ids[0], "without_mask"), (ids[5], "not_a_face"), (ids[2], ".")):
        assert sorted(path.name for path in (folder / place).glob(f"{entry_id}.*")) == [
            f"{entry_id}.context.png",
            f"{entry_id}.face.png",
            f"{entry_id}.json",
        ]
    after = files_in(folder)
    assert len(after) == len(before)
    assert {Path(name).name for name in after} == {Path(name).name for name in before}


def _as_label_studio_exports(tasks, labelled):
    """``tasks`` as Label Studio's Export > JSON gives them back once people labelled them: ``labelled`` maps a task's
    position to its annotations, (choices, was_cancelled, updated_at) each."""
    exported = []
    for position, task in enumerate(tasks):
        annotations = [
            {
                "id": 100 * position + number,
                "completed_by": 1,
                "result": [
                    {
                        "id": f"r{position}{number}",
                        "from_name": "label",
                        "to_name": "image",
                        "type": "choices",
                        "origin": "manual",
                        "value": {"choices": choices},
                    }
                ]
                if choices
                else [],
                "was_cancelled": cancelled,
                "ground_truth": False,
                "created_at": when,
                "updated_at": when,
                "lead_time": 3.2,
                "prediction": {"id": position + 1, **task["predictions"][0]},
                "task": position + 1,
                "project": 1,
            }
            for number, (choices, cancelled, when) in enumerate(labelled.get(position, []))
        ]
        exported.append(
            {
                "id": 40 + position,
                "annotations": annotations,
                "drafts": [],
                "predictions": [position + 1],
                "data": dict(task["data"]),
                "meta": {},
                "created_at": "2025-06-01T09:00:00.000000Z",
                "updated_at": "2025-06-01T11:00:00.000000Z",
                "inner_id": position + 1,
                "total_annotations": sum(not cancelled for _, cancelled, _ in labelled.get(position, [])),
                "cancelled_annotations": sum(cancelled for _, cancelled, _ in labelled.get(position, [])),
                "total_predictions": 1,
                "project": 1,
            }
        )
    return exported


def test_faces_go_to_label_studio_as_tasks_and_come_back_sorted_from_its_export(tmp_path):
    folder = tmp_path / "faces"
    ids = make_collection(folder, 6)
    before = files_in(folder)
    tasks_path = tmp_path / "tasks.json"

    exported = label(folder, "--export", "label-studio", "--tasks", tasks_path)
    assert exported.returncode == 0, exported.stderr
    assert f"LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={tmp_path.resolve()}" in exported.stdout
    tasks = json.loads(tasks_path.read_text())
    assert [task["data"]["maskdetect_id"] for task in tasks] == ids
    assert tasks[0]["data"]["image"] == f"/data/local-files/?d=faces/{ids[0]}.face.png"
    assert [task["predictions"][0]["score"] for task in tasks] == [0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
    view = ElementTree.parse(tmp_path / "tasks.config.xml").getroot()
    assert [choice.get("value") for choice in view.iter("Choice")] == [
        "with_mask",
        "without_mask",
        "mask_weared_incorrect",
        "not_a_face",
    ]
    # Exported again, it replaces its own tasks; never another file.
    assert label(folder, "--export", "label-studio", "--tasks", tasks_path).returncode == 0
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}\n')
    refused = label(folder, "--export", "label-studio", "--tasks", notes)
    assert refused.returncode == 2 and notes.read_text() == '{"mine": true}\n'
    assert_one_line_error(refused, "refusing to write")

    early, late = "2025-06-01T10:00:00.000000Z", "2025-06-01T10:05:00.000000Z"
    export = _as_label_studio_exports(
        tasks,
        {
            0: [(["with_mask"], False, early)],
            1: [(["without_mask"], False, early), (["mask_weared_incorrect"], False, late)],
            2: [([], True, early)],
            3: [(["a cat"], False, early)],
            4: [(["not_a_face"], False, early)],
        },
    )
    # A task found by its image's name alone, and one of a face that is not in this collection.
    del export[4]["data"]["maskdetect_id"]
    export.append({**export[0], "data": {"image": "/data/local-files/?d=faces/site_elsewhere_0001.face.png"}})
    export_path = tmp_path / "project-1-at-2025-06-01-11-00.json"
    export_path.write_text(json.dumps(export))

    imported = label(folder, "--import", export_path)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines() == [
        "sorted: 3 face(s) (1 mask_weared_incorrect, 1 not_a_face, 1 with_mask)",
        "skipped, no annotation: 2",
        "skipped, unknown class: 1",
        "skipped, unknown entry: 1",
    ]
    for entry_id, place in ((ids[0], "with_mask"), (ids[1], "mask_weared_incorrect"), (ids[4], "not_a_face")):
        assert {path.name for path in (folder / place).iterdir()} == {
            f"{entry_id}{s}" for s in (".json", ".face.png", ".context.png")
        }
    assert sorted(path.name for path in folder.glob("*.json")) == [f"{ids[i]}.json" for i in (2, 3, 5)]
    assert len(files_in(folder)) == len(before)


def test_a_corrupt_export_or_a_folder_that_is_no_collection_is_one_line_and_exit_2(tmp_path):
    folder = tmp_path / "faces"
    make_collection(folder, 2)
    before = snapshot(folder)
    for name, text in (("cut.json", '[{"id": 1, "annotations": [{"res'), ("object.json", '{"tasks": []}')):
        (tmp_path / name).write_text(text)
        result = label(folder, "--import", tmp_path / name)
        assert result.returncode == 2, result.stderr
        assert_one_line_error(result, name, "Label Studio JSON export")
        assert snapshot(folder) == before
    result = label(tmp_path, "--import", tmp_path / "cut.json")
    assert result.returncode == 2
    assert_one_line_error(result, "is not a collection")
