"""The dashboard tests' check for zh-CN labels drawn as empty boxes (test_dashboard.py's
missing_glyphs) can fail: Debian's chromium, limited by fontconfig to DejaVu (no Han glyphs, as
on a machine without fonts-noto-cjk), draws boxes and the check names each character. Needs
only chromium, not the sandbox."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.stack.test_dashboard import missing_glyphs

LATIN_ONLY = Path("/usr/share/fonts/truetype/dejavu")  # fonts-dejavu-core, chromium's dependency


def test_without_a_cjk_font_the_glyph_check_names_each_boxed_character(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None or not LATIN_ONLY.is_dir():
        pytest.fail("chromium and fonts-dejavu-core are needed: scripts/setup installs them")
    fonts = tmp_path / "fonts.conf"
    fonts.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{LATIN_ONLY}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    runs: list[tuple[dict[str, str | float | bool], list[str]]] = [
        ({**os.environ, "FONTCONFIG_FILE": str(fonts)}, ["登", "录", "密", "码", "错", "误"]),
        (dict(os.environ), []),  # the machine's own fonts: scripts/setup's fonts-noto-cjk
    ]
    with sync_playwright() as p:
        for env, boxed in runs:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"], env=env)
            try:
                page = browser.new_page()
                page.set_content("<body>登录 hotline 密码错误</body>")
                assert missing_glyphs(page) == boxed
            finally:
                browser.close()
