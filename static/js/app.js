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
  // htmx:load fires for all content htmx adds: swaps, out-of-band swaps and socket messages.
  document.addEventListener("htmx:load", function (event) { sizeProgressBars(event.target); });
})();
