// Small behaviours htmx does not cover: Enter to send, clearing the composer
// after a successful send, and following the newest text as it streams in.
(function () {
  "use strict";

  function messagesEl() { return document.getElementById("messages"); }

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }

  function scrollToBottom() {
    var el = messagesEl();
    if (el) { el.scrollTop = el.scrollHeight; }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.name === "message" && target.tagName === "TEXTAREA" &&
        event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (target.value.trim()) { target.form.requestSubmit(); }
    }
  });

  // A 503 (the database or Redis briefly down: config/unavailable.py) that names a target, such
  // as the composer's error slot, is shown there; htmx swaps no 5xx on its own. The typed
  // message stays in the composer, since the send did not succeed.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 503 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form.classList && form.classList.contains("composer")) {
      if (event.detail.successful) {
        form.reset();
        var error = document.getElementById("composer-error");
        if (error) { error.textContent = ""; }
        scrollToBottom();
      }
    }
  });

  var following = true;
  document.addEventListener("htmx:wsBeforeMessage", function () {
    var el = messagesEl();
    following = el ? nearBottom(el) : false;
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (following) { scrollToBottom(); }
  });
  document.addEventListener("DOMContentLoaded", scrollToBottom);

  // Behaviours that would otherwise be inline attributes, which the Content-Security-Policy
  // refuses (script-src 'self', style-src 'self').

  // <select data-submit-on-change>: the account switcher submits as soon as one is picked.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-submit-on-change]") && target.form) {
      target.form.submit();
    }
  });

  // Progress bars carry their width as data-percent; set through the CSSOM, which CSP allows.
  function sizeProgressBars(root) {
    if (!root.querySelectorAll) { return; }
    var bars = Array.prototype.slice.call(root.querySelectorAll(".run-progress-bar[data-percent]"));
    if (root.matches && root.matches(".run-progress-bar[data-percent]")) { bars.push(root); }
    bars.forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.percent) || 0)) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { sizeProgressBars(document); });

  // Narrow screens: the top bar's menu and the chat's conversation drawer open and close here.
  function setOpen(button, container, className, open) {
    container.classList.toggle(className, open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target) { return; }
    var navToggle = target.closest("[data-nav-toggle]");
    if (navToggle) {
      var topbar = navToggle.closest(".topbar");
      setOpen(navToggle, topbar, "nav-open", !topbar.classList.contains("nav-open"));
      return;
    }
    var layout = document.querySelector(".chat-layout");
    var drawerToggle = document.querySelector("[data-drawer-toggle]");
    if (layout && drawerToggle && target.closest("[data-drawer-toggle]")) {
      setOpen(drawerToggle, layout, "drawer-open", !layout.classList.contains("drawer-open"));
      return;
    }
    if (layout && drawerToggle && target.closest("[data-drawer-close]")) {
      setOpen(drawerToggle, layout, "drawer-open", false);
      return;
    }
    // Copy a reply's text (as shown, without markup) with the clipboard API.
    var copy = target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.innerText.trim()).then(function () {
        copy.setAttribute("data-copied", "");
        copy.querySelector(".copy-label").textContent = "Copied";
        setTimeout(function () {
          copy.removeAttribute("data-copied");
          copy.querySelector(".copy-label").textContent = "Copy";
        }, 1500);
      });
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var layout = document.querySelector(".chat-layout.drawer-open");
    var drawerToggle = document.querySelector("[data-drawer-toggle]");
    if (layout && drawerToggle) { setOpen(drawerToggle, layout, "drawer-open", false); }
  });
  // <form data-confirm="...">: asks before a destructive action (an inline onsubmit would be refused).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // A streaming reply that has gone quiet may have lost frames (Redis restarted while this socket
  // stayed open, so what was published meanwhile never arrived), though the reply went on in the
  // database. Reconnecting makes the server re-send the latest reply from the database, so the page
  // catches up. A reply can also be quiet for a good reason (a long tool call), so each quiet
  // re-sync waits twice as long as the one before, up to a minute; any frame starts over at 5 s.
  var QUIET_MS = 5000;
  var MAX_QUIET_MS = 60000;
  // Progress is a change on the page: a re-sync that brings nothing new keeps the longer wait.
  function pageState(el) {
    return el.querySelectorAll('article[data-status="streaming"]').length + ":" + el.textContent.length;
  }
  function heardFrom(el) {
    var state = pageState(el);
    if (state === el.replySeen) { return; }
    el.replySeen = state;
    el.replyQuietSince = Date.now();
    el.replyQuietLimit = QUIET_MS;
  }
  document.addEventListener("htmx:wsOpen", function (event) {
    event.target.replySocket = event.detail.socketWrapper;
    if (!event.target.replyQuietSince) { heardFrom(event.target); }
  });
  document.addEventListener("htmx:wsAfterMessage", function (event) { heardFrom(event.target); });
  window.setInterval(function () {
    document.querySelectorAll("[ws-connect]").forEach(function (el) {
      if (!el.replySocket || !el.querySelector('article[data-status="streaming"]')) { return; }
      if (Date.now() - el.replyQuietSince < el.replyQuietLimit) { return; }
      var limit = Math.min(el.replyQuietLimit * 2, MAX_QUIET_MS);
      el.replySocket.reconnect();
      el.replyQuietSince = Date.now();
      el.replyQuietLimit = limit;
    });
  }, 1000);
  // htmx:load fires for all content htmx adds: swaps, out-of-band swaps and socket messages.
  document.addEventListener("htmx:load", function (event) { sizeProgressBars(event.target); });
})();
