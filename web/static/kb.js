/* kb: small enhancements over server-rendered pages. Everything works without this file:
 * "/" focuses the search box; arrow keys move through hits; results follow the search box as you
 * type (debounced, never mid-IME-composition); 复制引用 / 复制整段 / 复制链接 copy a citation or a
 * permalink; n / N jump between matches in a document; the table of contents marks the section
 * being read and folds away on narrow screens; the facet bar opens on wide screens. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  function isTyping(el) {
    return !!(el && el.closest && el.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  /* --- "/" focuses the search box from anywhere ------------------------------------------- */
  function initSlash(box) {
    document.addEventListener("keydown", function (e) {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      e.preventDefault();
      box.focus();
      box.select();
    });
  }

  /* --- up/down through hits, Enter opens (links do that natively) ------------------------- */
  function initHitKeys(box) {
    document.addEventListener("keydown", function (e) {
      if ((e.key !== "ArrowDown" && e.key !== "ArrowUp") || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      var links = Array.prototype.slice.call(document.querySelectorAll(".hit-link")); // results may be replaced
      if (!links.length) return;
      var active = document.activeElement;
      var i = links.indexOf(active);
      var fromBox = active === box;
      var fromNowhere = !active || active === document.body;
      if (i === -1 && !fromBox && !fromNowhere) return; // leave other controls and scrolling alone
      var next = null;
      if (e.key === "ArrowDown") next = i === -1 ? links[0] : links[i + 1] || null;
      else if (i > 0) next = links[i - 1];
      else if (i === 0) next = box;
      if (!next) return;
      e.preventDefault();
      next.focus();
      if (next !== box) next.closest(".hit").scrollIntoView({ block: "nearest" });
    });
  }

  /* --- 复制引用 -------------------------------------------------------------------------- */
  function copyWithTextarea(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "copy-buffer";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; },
        function () { return copyWithTextarea(text); });
    }
    return Promise.resolve(copyWithTextarea(text));
  }

  function absolute(link) {
    try { return new URL(link, location.href).href; } catch (err) { return link; }
  }

  function flash(status, holder, ok) {
    if (!status) return;
    status.textContent = ok ? "已复制" : "复制失败，请手动选择文字";
    status.classList.add("shown");
    if (holder) holder.classList.add("copied");
    clearTimeout(status._kbTimer);
    status._kbTimer = setTimeout(function () {
      status.textContent = "";
      status.classList.remove("shown");
      if (holder) holder.classList.remove("copied");
    }, 2000);
  }

  /* A citation as web/render.py's citation() writes it: text, ——《title》，path，发布日期：…，信息来源：…, link. */
  function citeFrom(text, title, path, date, source, link) {
    var parts = ["《" + title + "》", path, date ? "发布日期：" + date : "", source ? "信息来源：" + source : ""];
    return text + "\n——" + parts.filter(Boolean).join("，") + "\n" + link;
  }

  /* result cards: the server wrote both citations; only the link may need this page's origin */
  function initCardCopy(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll(".cite-tools"), function (tools) {
      if (tools._kbReady) return;
      tools._kbReady = true;
      var rel = tools.getAttribute("data-link") || "";
      var link = absolute(rel);
      function withLink(text) {
        return rel && text.slice(-rel.length - 1) === "\n" + rel ? text.slice(0, -rel.length) + link : text;
      }
      var status = tools.querySelector(".copy-status");
      var card = tools.closest(".hit");
      [["copy-short", function () { return withLink(tools.getAttribute("data-cite-short") || ""); }],
       ["copy-full", function () { return withLink(tools.getAttribute("data-cite-full") || ""); }],
       ["copy-link", function () { return link; }]].forEach(function (pair) {
        var btn = tools.querySelector("." + pair[0]);
        if (!btn) return;
        btn.hidden = false;
        btn.addEventListener("click", function () {
          copyText(pair[1]()).then(function (ok) { flash(status, card, ok); });
        });
      });
    });
  }

  /* document page: each passage gets 复制引用 and 复制链接, built from the page (no copy per passage in the HTML) */
  function initDocCopy() {
    var article = document.querySelector("article.doc[data-title]");
    if (!article) return;
    var title = article.getAttribute("data-title") || "";
    var date = article.getAttribute("data-date") || "";
    var source = article.getAttribute("data-source") || "";
    var base = article.getAttribute("data-base") || "/p/";
    article.addEventListener("click", function (e) {
      var btn = e.target.closest("button.copy-cite, button.copy-plink");
      if (!btn) return;
      var passage = btn.closest(".passage");
      var href = passage.querySelector(".p-link").getAttribute("href");
      var link = absolute(base + href.split("/p/").pop());
      var text = link;
      if (btn.classList.contains("copy-cite")) {
        var lines = Array.prototype.map.call(passage.querySelectorAll(":scope > p"), function (p) { return p.textContent; });
        var section = passage.closest("section[data-path]");
        text = citeFrom(lines.join("\n").trim(), title, section ? section.getAttribute("data-path") : "", date, source, link);
      }
      copyText(text).then(function (ok) { flash(passage.querySelector(".copy-status"), passage, ok); });
    });
    Array.prototype.forEach.call(article.querySelectorAll(".p-tools"), function (tools) {
      tools.insertAdjacentHTML("beforeend", '<button type="button" class="copy-cite">复制引用</button>' +
        '<button type="button" class="copy-plink">复制链接</button><span class="copy-status" role="status" aria-live="polite"></span>');
    });
  }

  /* --- next / previous match in a document: buttons and n / N ------------------------------ */
  function initMatches() {
    var nav = document.querySelector(".match-nav");
    var marks = Array.prototype.slice.call(document.querySelectorAll(".doc .passage.has-mark"));
    if (!nav || !marks.length) return;
    nav.hidden = false;
    var pos = nav.querySelector(".match-pos");
    var at = -1;
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) at = marks.indexOf(target.closest(".passage"));
    function show() { pos.textContent = (at >= 0 ? at + 1 : "–") + " / " + marks.length; }
    function go(step) {
      if (at === -1) { // from where the reader is: the first match below (or above) the top of the screen
        var top = 80;
        at = step > 0 ? marks.findIndex(function (m) { return m.getBoundingClientRect().top > top; }) : -1;
        if (step > 0 && at === -1) at = 0;
        if (step < 0) {
          for (var i = marks.length - 1; i >= 0; i--) if (marks[i].getBoundingClientRect().top < top) { at = i; break; }
          if (at === -1) at = marks.length - 1;
        }
      } else {
        at = (at + step + marks.length) % marks.length;
      }
      marks.forEach(function (m) { m.classList.remove("current-match"); });
      var m = marks[at];
      m.classList.add("current-match");
      m.scrollIntoView({ block: "center" });
      show();
    }
    nav.querySelector(".match-next").addEventListener("click", function () { go(1); });
    nav.querySelector(".match-prev").addEventListener("click", function () { go(-1); });
    document.addEventListener("keydown", function (e) {
      if ((e.key !== "n" && e.key !== "N") || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      e.preventDefault();
      go(e.key === "n" ? 1 : -1);
    });
    show();
  }

  /* --- the document's sticky bar: passages land below it, not under it ---------------------- */
  function initDocBar() {
    var bar = document.querySelector(".doc-bar");
    if (!bar) return;
    function offset() {
      var r = bar.getBoundingClientRect();
      var top = parseFloat(getComputedStyle(bar).top) || 0;
      root.style.setProperty("--doc-offset", Math.ceil(top + r.height + 8) + "px");
    }
    offset();
    window.addEventListener("resize", offset);
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target) target.scrollIntoView({ block: "start" });
  }

  /* --- facets: open beside the results on wide screens, a folded bar on phones --------------- */
  function initFacets(scope) {
    var bar = scope.querySelector(".facet-bar");
    if (bar && window.matchMedia("(min-width: 861px)").matches) bar.open = true;
  }

  /* --- results as you type ------------------------------------------------------------------ */
  function initLive(box) {
    var form = box.form;
    if (!form || !document.body.classList.contains("page-search")) return;
    var composing = false;
    var timer = null;
    var DEBOUNCE_MS = 80; // a pause between keystrokes this long searches (scripts/paint_timing.py measures it)
    var seq = 0;
    var controller = null;

    function url() {
      var params = new URLSearchParams(new FormData(form));
      return form.getAttribute("action") + "?" + params.toString();
    }

    function swap(html, href, push) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.querySelector(".results-layout, main.start");
      var old = document.querySelector(".results-layout, main.start");
      if (!fresh || !old) { location.href = href; return; }
      old.replaceWith(fresh);
      document.title = doc.title;
      if (push) history.pushState(null, "", href); else history.replaceState(null, "", href);
      initCardCopy(fresh);
      initFacets(fresh);
      window.dispatchEvent(new CustomEvent("kb:results", { detail: { query: box.value } }));
    }

    function run(push) {
      clearTimeout(timer);
      var q = box.value;
      if (!q.trim() || q.length > 500) return false;
      var href = url();
      var mine = ++seq;
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      fetch(href, { signal: controller ? controller.signal : undefined, headers: { "X-Requested-With": "kb-live" } })
        .then(function (r) { return r.text(); })
        .then(function (html) { if (mine === seq) swap(html, href, push); })
        .catch(function () { /* aborted by a newer keystroke, or offline: the form still works */ });
      return true;
    }

    box.addEventListener("compositionstart", function () { composing = true; clearTimeout(timer); });
    box.addEventListener("compositionend", function () {
      composing = false;
      clearTimeout(timer);
      timer = setTimeout(function () { run(false); }, DEBOUNCE_MS);
    });
    box.addEventListener("input", function (e) {
      if (composing || e.isComposing) return; // no search on half-typed pinyin
      clearTimeout(timer);
      timer = setTimeout(function () { run(false); }, DEBOUNCE_MS);
    });
    form.addEventListener("submit", function (e) {
      if (composing) return;
      if (run(true)) e.preventDefault();
    });
    window.addEventListener("popstate", function () { location.reload(); });
  }

  /* --- table of contents: current section, folding on narrow screens ---------------------- */
  function initToc() {
    var details = document.querySelector(".toc");
    var nav = document.querySelector(".toc-nav");
    if (!details || !nav) return;
    var narrow = window.matchMedia("(max-width: 860px)");
    var currentLabel = details.querySelector(".toc-current");
    var linkFor = {};
    Array.prototype.forEach.call(nav.querySelectorAll("a[data-section]"), function (a) {
      linkFor[a.getAttribute("data-section")] = a;
    });

    function scrollToHash() {
      var id = decodeURIComponent(location.hash.slice(1));
      var target = id && document.getElementById(id);
      if (target) target.scrollIntoView({ block: "start" });
    }

    if (narrow.matches) {
      details.open = false; // folding moves the text up: put the linked passage back in view
      // the document's own sticky bar (title, date, source) sits right under the folded TOC bar
      root.style.setProperty("--toc-bar", details.parentElement.getBoundingClientRect().height + "px");
      if (location.hash) scrollToHash();
    }
    nav.addEventListener("click", function (e) {
      if (e.target.closest("a") && narrow.matches) details.open = false;
    });

    var current = null;
    function setCurrent(section) {
      var el = section;
      while (el && !linkFor[el.id]) el = el.parentElement && el.parentElement.closest("section.sec");
      var link = el ? linkFor[el.id] : null;
      if (!link || link === current) return;
      if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
      link.classList.add("current");
      link.setAttribute("aria-current", "location");
      current = link;
      if (currentLabel) currentLabel.textContent = section.getAttribute("data-label") || "";
      // keep the mark visible inside the TOC's own scroll box, never scroll the page itself
      if (!narrow.matches && nav.scrollHeight > nav.clientHeight) {
        var box = nav.getBoundingClientRect();
        var r = link.getBoundingClientRect();
        if (r.top < box.top || r.bottom > box.bottom) nav.scrollTop += r.top - box.top - box.height / 3;
      }
    }

    var blocks = Array.prototype.slice.call(document.querySelectorAll(".doc .passage, .doc .sec-title"));
    if (!blocks.length || !("IntersectionObserver" in window)) return;
    var visible = new Set();
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (en.isIntersecting) visible.add(en.target); else visible.delete(en.target);
      });
      for (var i = 0; i < blocks.length; i++) {
        if (visible.has(blocks[i])) { setCurrent(blocks[i].closest("section.sec")); return; }
      }
    }, { rootMargin: "-10% 0px -50% 0px" }); // the block nearest the top of what is being read
    blocks.forEach(function (b) { observer.observe(b); });
  }

  ready(function () {
    var box = document.getElementById("q");
    if (box) {
      initSlash(box);
      initHitKeys(box);
      initLive(box);
    }
    initCardCopy(document);
    initFacets(document);
    initDocCopy();
    initMatches();
    initToc();
    initDocBar();
  });
})();
