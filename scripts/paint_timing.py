#!/usr/bin/env python3
"""Enter → results painted, and keystroke → results painted, in Chromium, over a built index.

    .venv/bin/python scripts/paint_timing.py --index /path/to/mixed/index [--queries tests/eval-mixed.tsv] [-n 40]

Serves the index with waitress on 127.0.0.1 (a free port), opens the search page in Debian's Chromium
(Playwright, ``/usr/bin/chromium``; never ``playwright install``), and for each query:

- **enter**: the box holds the query (set without an input event), Enter is pressed; the clock runs
  from the keydown to the second animation frame after ``kb.js`` has put the new results in the page
  (the ``kb:results`` event): the frame that shows them;
- **keystroke**: the box holds the query but its last character, which is then typed; same stop, so
  the figure includes the typing debounce;
- **navigation**: a plain page load of ``/search?q=…`` (what a browser without JavaScript does),
  request start → first contentful paint.

Prints each median and p90 in ms, and the server-side ``took_ms`` median for comparison. Measures,
never asserts (latency belongs to benchmarks, not to tests on a loaded machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INSTALL = """() => {
  window.__kb = {t0: 0, times: []};
  const box = document.getElementById('q');
  box.addEventListener('keydown', () => { window.__kb.t0 = performance.now(); }, true);
  window.addEventListener('kb:results', () => {
    requestAnimationFrame(() => requestAnimationFrame(() => {
      window.__kb.times.push(performance.now() - window.__kb.t0);
    }));
  });
}"""


def _queries(path: Path, n: int) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        q = line.split("\t", 1)[0].strip()
        if q and not q.startswith("#") and len(q) >= 2 and q not in out:
            out.append(q)
    return out[:n]


def _p(values: list[float], pct: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", default=str(ROOT / "tests" / "eval-mixed.tsv"))
    ap.add_argument("-n", type=int, default=40, help="queries to time (default 40)")
    args = ap.parse_args()

    import waitress
    from playwright.sync_api import sync_playwright

    from web import create_app

    app = create_app({"KB_INDEX": args.index})
    srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, ident="kb-timing")
    threading.Thread(target=srv.run, daemon=True).start()
    base = f"http://127.0.0.1:{srv.effective_port}"
    queries = _queries(Path(args.queries), args.n)
    enter: list[float] = []
    keystroke: list[float] = []
    navigation: list[float] = []
    took: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/search?q={quote('交通')}")  # warm: the index is open, templates compiled
            page.evaluate(INSTALL)
            for q in queries:
                for kind, store in (("enter", enter), ("keystroke", keystroke)):
                    page.evaluate("() => { window.__kb.times = []; }")
                    head = q if kind == "enter" else q[:-1]
                    page.evaluate("(v) => { document.getElementById('q').value = v; }", head)
                    page.focus("#q")
                    page.keyboard.press("End")
                    if kind == "enter":
                        page.keyboard.press("Enter")
                    else:
                        page.keyboard.type(q[-1])
                    page.wait_for_function("() => window.__kb.times.length > 0", timeout=10_000)
                    store.append(page.evaluate("() => window.__kb.times[window.__kb.times.length - 1]"))
                took.append(page.request.get(f"{base}/api/search?q={quote(q)}").json()["took_ms"])
            nav = browser.new_page(viewport={"width": 1280, "height": 900})
            for q in queries:
                nav.goto(f"{base}/search?q={quote(q)}")
                navigation.append(nav.evaluate("""() => new Promise((done) => {
                  const get = () => {
                    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                    if (fcp) done(fcp.startTime - performance.getEntriesByType('navigation')[0].requestStart);
                    else setTimeout(get, 10);
                  };
                  get();
                })"""))
            browser.close()
    finally:
        srv.close()
    print(f"queries: {len(queries)} from {args.queries}; index: {args.index}")
    for name, values in (("enter → painted", enter), ("keystroke → painted", keystroke),
                         ("navigation (no JS) → first paint", navigation), ("server took_ms", took)):
        print(f"{name:34s} median {statistics.median(values):6.1f} ms   p90 {_p(values, 90):6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
