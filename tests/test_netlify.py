"""netlify.toml against reality: its build command is the README's and writes the folder it
publishes; its Content-Security-Policy lets every page load in Chromium without a violation and
allows nothing no page uses; caching and redirects fit the files the build writes."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE, settings_for
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from site_server import chromium, header_rules, headers_for, netlify_config, serve

from flash.build import build
from flash.settings import load_settings

CONFIG = netlify_config()
RULES = header_rules(CONFIG)
CSP = "Content-Security-Policy"
EDITOR_POLICY = headers_for(RULES, "/admin/")[CSP]
HASHED = re.compile(r"\.[0-9a-f]{10}\.[a-z0-9]+$")
# What a visit does on each page kind; the search page is used, not just opened.
VISITS = [
    "/", "/numeros/", "/numeros/195/", "/numeros/195/livre-de-recettes-gratines/",
    "/organisations/", "/organisations/mesolia/", "/themes/", "/themes/vivre-ensemble/",
    "/recherche/?q=habitants", "/cette-page-n-existe-pas/", "/numeros/195/email.html",
    "/desabonnement/", "/abonnement/",
]
# Listens before any page script runs, in the page and in the workers it starts.
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile));
"""


def test_publish_folder_is_what_the_build_writes() -> None:
    settings = load_settings(REPO / "issues")
    assert CONFIG["build"]["publish"] == settings.output == "_site"


def test_build_command_is_the_readme_build() -> None:
    command = CONFIG["build"]["command"]
    assert command in (REPO / "README.md").read_text(encoding="utf-8")
    assert command.endswith("flash build") and "--output" not in command and "-o " not in command
    version = CONFIG["build"]["environment"]["PYTHON_VERSION"]
    assert tuple(map(int, version.split("."))) >= (3, 11)


def test_build_command_writes_the_published_site(tmp_path: Path) -> None:
    """The command's last step, run as Netlify runs it: from a checkout of the repository."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(SAMPLE, tmp_path / "issues")
    last = shlex.split(CONFIG["build"]["command"].split("&&")[-1])
    assert last[0] == ".venv/bin/flash"
    flash = Path(sys.executable).with_name("flash")
    done = subprocess.run([str(flash), *last[1:]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    published = tmp_path / CONFIG["build"]["publish"]
    for name in ["index.html", "404.html", "_redirects", "pagefind/pagefind-entry.json",
                 "recherche/index.html", "numeros/195/index.html"]:
        assert (published / name).is_file(), name


def test_every_fingerprinted_folder_only_holds_hashed_names(sample_site: Path) -> None:
    for folder in ["assets", "media"]:
        files = [p for p in (sample_site / folder).rglob("*") if p.is_file()]
        assert files
        unhashed = [p.name for p in files if not HASHED.search(p.name)]
        assert unhashed == [], f"/{folder}/ is cached as immutable"


@pytest.mark.parametrize("path, cache", [
    ("/assets/flash.0123456789.css", "public, max-age=31536000, immutable"),
    ("/media/photo-960.0123456789.jpg", "public, max-age=31536000, immutable"),
    ("/pagefind/fragment/fr_0123.pf_fragment", "public, max-age=31536000, immutable"),
    ("/", "public, max-age=0, must-revalidate"),
    ("/numeros/195/", "public, max-age=0, must-revalidate"),
    ("/numeros/195/livre-de-recettes-gratines/", "public, max-age=0, must-revalidate"),
    ("/organisations/mesolia/page/2/", "public, max-age=0, must-revalidate"),
    ("/themes/vivre-ensemble/feed.xml", "public, max-age=0, must-revalidate"),
    ("/recherche/", "public, max-age=0, must-revalidate"),
    ("/feed.xml", "public, max-age=0, must-revalidate"),
    ("/404.html", "public, max-age=0, must-revalidate"),
])
def test_one_cache_policy_per_path(path: str, cache: str) -> None:
    headers = headers_for(RULES, path)
    assert headers["Cache-Control"] == cache  # a doubled value would show two policies
    assert headers[CSP].startswith("default-src 'none'")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers[CSP]
    assert headers["Referrer-Policy"] and headers["Permissions-Policy"]


def test_short_issue_addresses_redirect_to_existing_pages(sample_site: Path) -> None:
    lines = [line.split() for line in (sample_site / "_redirects").read_text().splitlines()
             if line and not line.startswith("#")]
    assert ["/195", "/numeros/195/", "301"] in lines
    for source, target, status in lines:
        assert re.fullmatch(r"/\d+", source) and status == "301"
        assert (sample_site / target.strip("/") / "index.html").is_file()


def test_404_rule_comes_last_and_its_page_exists(sample_site: Path) -> None:
    last = CONFIG["redirects"][-1]
    assert (last["from"], last["to"], last["status"]) == ("/*", "/404.html", 404)
    assert (sample_site / "404.html").is_file()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as launched:
        yield launched


def visit(browser, base: str, url: str) -> tuple[list[str], int]:
    """Opens `url` and uses it: a search runs, the header form is sent. Returns what went
    wrong: CSP violations reported to the page, errors logged by the page or its workers
    (Pagefind's worker reports there the fetches its policy refuses), a search without results
    or a form that was not sent."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(LISTEN)
    problems: list[str] = []

    def log(message) -> None:
        if message.type == "error" and "status of 404" not in message.text:
            problems.append(f"console: {message.text}")

    page.on("console", log)
    page.on("worker", lambda worker: worker.on("console", log))
    response = page.goto(base + url)
    if "?q=" in url:
        try:
            page.wait_for_selector(".pagefind-ui__result-link", timeout=5_000)
        except PlaywrightTimeout:
            problems.append("search: no result")
    page.wait_for_load_state("networkidle")
    problems += page.evaluate("() => window.__violations")
    if page.locator("form.site-search").count():
        page.locator("form.site-search input").fill("jardin")
        page.locator("form.site-search button").click(no_wait_after=True)
        page.wait_for_timeout(500)
        if "/recherche/" not in page.url:
            problems.append("form-action: the search form was not sent")
    context.close()
    return problems, response.status


class NetlifySite:
    """The sample site built for the address it is served from (the e-mail copies use absolute
    URLs, as on Netlify where `base_url` is the site's own origin), with netlify.toml's headers.
    `policy` replaces the CSP, to try narrower ones."""

    def __init__(self) -> None:
        self.url = ""
        self.root = Path()
        self.policy: str | None = None

    def headers(self, path: str) -> dict[str, str]:
        found = headers_for(RULES, path)
        if self.policy is not None:
            found[CSP] = self.policy
        return found


@pytest.fixture(scope="module")
def netlify_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetlifySite]:
    site = NetlifySite()
    out = tmp_path_factory.mktemp("netlify") / "_site"
    with serve(out, site.headers) as url:
        site.url = url
        site.root = out
        # With the online editor and the sign-up form: every folder a build can write.
        build(SAMPLE, out, settings_for(base_url=url, editor_repo="alfi/flash",
                                        subscribers_url="https://abonnes.example.org"))
        yield site


def test_every_file_written_gets_one_security_policy(netlify_site: NetlifySite) -> None:
    """Each file of the site gets the site's policy once, the editor's files the editor's:
    two matching rules would send two policies, and the browser would enforce both."""
    site_policy = headers_for(RULES, "/")[CSP]
    # Not pages: Netlify's own _redirects, and the build's marker of its output (.flash-site).
    files = [p for p in netlify_site.root.rglob("*")
             if p.is_file() and p.name != "_redirects" and not p.name.startswith(".")]
    assert any(p.parts[-2] == "admin" for p in files)
    for path in files:
        url = "/" + path.relative_to(netlify_site.root).as_posix()
        url = url.removesuffix("index.html")  # pages are asked for by their folder
        headers = headers_for(RULES, url)
        editor = url.startswith("/admin/")
        assert headers.get(CSP) == (EDITOR_POLICY if editor else site_policy), url
        assert headers["Cross-Origin-Opener-Policy"] == (
            "same-origin-allow-popups" if editor else "same-origin"), url
        assert headers["X-Content-Type-Options"] == "nosniff", url


def test_the_online_editor_loads_under_its_policy(browser, netlify_site: NetlifySite) -> None:
    """The deployed /admin/: Decap starts under the editor's policy, offers the GitHub login
    in French and loads nothing from elsewhere until the writer logs in."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(LISTEN)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(netlify_site.url + "/admin/")
    assert response.headers["content-security-policy"] == EDITOR_POLICY
    page.get_by_role("button", name="Se connecter avec GitHub").wait_for(timeout=30_000)
    assert page.evaluate("() => window.__violations") == []
    assert [url for url in requests if not url.startswith(netlify_site.url + "/")] == []
    context.close()


@pytest.mark.parametrize("url", VISITS)
def test_pages_load_under_the_csp_without_violation(browser, netlify_site: NetlifySite, url: str
                                                    ) -> None:
    violations, status = visit(browser, netlify_site.url, url)
    assert status == (404 if "n-existe" in url else 200)
    assert violations == []


def directive_sources(policy: str) -> list[tuple[str, str]]:
    pairs = []
    for directive in policy.split(";"):
        name, *sources = directive.split()
        pairs += [(name, s) for s in sources if s != "'none'"]
    return pairs


@pytest.mark.parametrize("directive, source", directive_sources(
    headers_for(RULES, "/")[CSP]))
def test_every_allowed_source_is_used(browser, netlify_site: NetlifySite, directive: str,
                                      source: str) -> None:
    """Without any one of its sources, the policy blocks something a page does."""
    policy = headers_for(RULES, "/")[CSP]
    narrowed = re.sub(rf"({re.escape(directive)}[^;]*?) {re.escape(source)}", r"\1", policy)
    assert narrowed != policy
    blocked: list[str] = []
    netlify_site.policy = narrowed
    try:
        for url in VISITS:
            blocked += visit(browser, netlify_site.url, url)[0]
            if blocked:
                break
    finally:
        netlify_site.policy = None
    assert blocked, f"{directive} {source} is allowed but no page needs it"


def test_build_cache_is_kept_between_deploys() -> None:
    """The local plugin restores Flash's cache folder and the last site before the build and
    saves them after it: a deploy remakes only the pages and PDFs of what changed."""
    from flash.paths import CACHE_DIR

    (plugin,) = CONFIG["plugins"]
    folder = REPO / plugin["package"]
    assert (folder / "manifest.yml").read_text(encoding="utf-8").startswith("name: flash-cache")
    script = (folder / "index.js").read_text(encoding="utf-8")
    settings = load_settings(REPO / "issues")
    for name in (CACHE_DIR, settings.output):
        assert f'"{name}"' in script
    assert "onPreBuild" in script and "utils.cache.restore(folder)" in script
    assert "onPostBuild" in script and "utils.cache.save(folder)" in script
    node = shutil.which("node") or shutil.which("nodejs")
    if node:
        subprocess.run([node, "--check", str(folder / "index.js")], check=True, timeout=60)
