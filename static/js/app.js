/* The portal's own script (CSP: files only, no inline code). Three jobs:
   1. Confirmations: htmx's hx-confirm asks in an accessible modal <dialog> (made here on first
      use) instead of window.confirm; only "Yes" sends the request, "No" and Escape send
      nothing. Without <dialog> support it falls back to window.confirm.
   2. Focus: a swap that replaces the focused control (a row's Include/Exclude, a tab) puts
      focus back on the control with the same id in the new content, never on <body>.
   3. Failures: htmx leaves the page as it was when an action's request fails (an error answer,
      or no answer), so the page says so in an alert instead of nothing happening. Polls (GET)
      try again by themselves and stay quiet. */
(function () {
  "use strict";

  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function confirmDialog() {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog || typeof HTMLDialogElement !== "function") {
      return dialog;
    }
    dialog = make("dialog", {
      id: "confirm-dialog",
      "class": "confirm-dialog",
      "aria-labelledby": "confirm-title",
      "aria-describedby": "confirm-text"
    });
    var form = make("form", { method: "dialog" });
    var buttons = make("p", { "class": "actions" });
    buttons.appendChild(make("button", { type: "submit", value: "yes", id: "confirm-yes" }, "Yes"));
    buttons.appendChild(make("button", { type: "submit", value: "no", id: "confirm-no" }, "No"));
    form.appendChild(make("h2", { id: "confirm-title" }, "Are you sure?"));
    form.appendChild(make("p", { id: "confirm-text" }));
    form.appendChild(make("ul", { id: "confirm-details", hidden: "" }));
    form.appendChild(buttons);
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    dialog.addEventListener("close", answered);
    return dialog;
  }

  /* The question being asked: htmx's confirm event details and the button that asked. One
     listener answers it. A "close" event is fired as a task of its own after the dialog
     closes, so a quick "No" then a new question can see the "No"'s event arrive while the new
     question is open: an open dialog has not been answered yet, and that event is ignored. */
  var asking = null;

  function answered() {
    var dialog = this;
    if (dialog.open || !asking) {
      return;
    }
    var question = asking;
    asking = null;
    if (dialog.returnValue === "yes") {
      question.detail.issueRequest(true);
    } else if (question.opener && question.opener.isConnected) {
      question.opener.focus();
    }
  }

  function fill(dialog, button) {
    var data = button ? button.dataset : {};
    dialog.querySelector("#confirm-title").textContent = data.confirmTitle || "Are you sure?";
    dialog.querySelector("#confirm-text").textContent = data.confirmBody || "";
    var list = dialog.querySelector("#confirm-details");
    list.textContent = "";
    (data.confirmDetails || "").split("\n").forEach(function (line) {
      if (line) {
        var item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      }
    });
    list.hidden = !list.children.length;
    var yes = dialog.querySelector("#confirm-yes");
    yes.textContent = data.confirmYes || "Yes";
    yes.className = data.confirmDanger === "no" ? "primary" : "danger";
    dialog.querySelector("#confirm-no").textContent = data.confirmNo || "No, go back";
  }

  document.addEventListener("htmx:confirm", function (evt) {
    var question = evt.detail.question;
    if (!question) {
      return;
    }
    evt.preventDefault();
    var dialog = confirmDialog();
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(question)) {
        evt.detail.issueRequest(true);
      }
      return;
    }
    asking = { detail: evt.detail, opener: evt.detail.elt };
    fill(dialog, evt.detail.elt);
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("#confirm-no").focus();
  });

  /* Before a swap: the focused control's id, and its row's (a [data-focus-row] element). After:
     the same control again, else its row (a decided row no longer has the buttons). */
  var lastFocused = null;
  var lastRow = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    var focused = active && active !== document.body;
    lastFocused = focused && active.id ? active.id : null;
    var row = focused ? active.closest("[data-focus-row]") : null;
    lastRow = row && row.id ? row.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    var lost = !active || active === document.body || !active.isConnected;
    if (lost) {
      var again = (lastFocused && document.getElementById(lastFocused)) ||
        (lastRow && document.getElementById(lastRow));
      if (again) {
        again.focus();
      }
    }
    lastFocused = null;
    lastRow = null;
  });

  function sayFailed(evt, text) {
    var config = evt.detail.requestConfig || {};
    if ((config.verb || "get").toLowerCase() === "get") {
      return;
    }
    var box = document.getElementById("request-failed");
    if (!box) {
      box = make("p", { id: "request-failed", "class": "flash flash-error", role: "alert" });
      var main = document.getElementById("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    sayFailed(evt, "That did not go through: the portal answered with an error (" + status +
      "). Reload the page to see where things stand, then try again.");
  });
  document.addEventListener("htmx:sendError", function (evt) {
    sayFailed(evt, "That may not have gone through: the portal could not be reached. " +
      "Reload the page to see where things stand, then try again.");
  });
})();
