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
})();
