// Copy buttons: <button class="copy" data-copy="#input-id" hidden>. Shown only when this script
// runs (the CSP allows scripts from this site only, so no inline handlers); without it the
// field is still there to select and copy by hand.
(function () {
  "use strict";
  function copyFrom(field) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value);
    }
    field.focus();
    field.select();
    var ok = document.execCommand && document.execCommand("copy");
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function wire(root) {
    root.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      if (button.dataset.copyWired) return;
      button.dataset.copyWired = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = document.querySelector(button.dataset.copy);
        if (!field) return;
        var label = button.textContent;
        copyFrom(field).then(
          function () { button.textContent = "Copied"; },
          function () { field.select(); button.textContent = "Press Ctrl+C"; }
        ).then(function () {
          setTimeout(function () { button.textContent = label; }, 2000);
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { wire(document); });
  } else {
    wire(document);
  }
  document.addEventListener("htmx:afterSwap", function (event) { wire(event.target); });
})();
