/* kb: small enhancements over server-rendered pages. Everything works without this file:
 * "/" focuses the search box; arrow keys move through hits; 复制引用 copies a citation;
 * the table of contents marks the section being read and folds away on narrow screens. */
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
    var links = Array.prototype.slice.call(document.querySelectorAll(".hit-link"));
    if (!links.length) return;
    document.addEventListener("keydown", function (e) {
      if ((e.key !== "ArrowDown" && e.key !== "ArrowUp") || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
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

  function initCopy() {
    var buttons = document.querySelectorAll(".copy-cite");
    Array.prototype.forEach.call(buttons, function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var status = btn.parentNode.querySelector(".copy-status");
        // the server never builds the permalink from the request's Host header: a relative one is
        // completed here from the address this browser itself opened
        var text = (btn.getAttribute("data-cite") || "").replace(/\n\/p\//, "\n" + window.location.origin + "/p/");
        copyText(text).then(function (ok) {
          if (!status) return;
          status.textContent = ok ? "已复制" : "复制失败，请手动选择文字";
          status.classList.add("shown");
          btn.closest(".passage").classList.add("copied");
          clearTimeout(btn._kbTimer);
          btn._kbTimer = setTimeout(function () {
            status.textContent = "";
            status.classList.remove("shown");
            btn.closest(".passage").classList.remove("copied");
          }, 2000);
        });
      });
    });
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
    }
    initCopy();
    initToc();
  });
})();
