// Keyboard shortcuts and small conveniences for the review pages. Every action also
// works without this script through ordinary forms.
"use strict";

(function () {
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function typingInField(event) {
    var target = event.target;
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // Queue page: j/k move, a approve, r reject, e edit, x select, o open.
  function setUpQueue() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr.story-row"));
    if (!rows.length) {
      return;
    }
    var current = 0;

    function select(index) {
      if (index < 0 || index >= rows.length) {
        return;
      }
      rows[current].classList.remove("selected");
      current = index;
      rows[current].classList.add("selected");
      rows[current].scrollIntoView({ block: "nearest" });
    }

    function showMessage(row, text) {
      var message = row.querySelector(".row-message");
      if (message) {
        message.textContent = text;
      }
    }

    function submitDecision(form) {
      var row = form.closest("tr.story-row");
      var body = new FormData(form);
      // form.action would return the hidden input named "action", not the attribute.
      return fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrfToken() },
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (result) {
          if (!result.ok) {
            showMessage(row, result.data.error || "The decision failed.");
            return false;
          }
          row.dataset.status = result.data.status;
          var badge = row.querySelector(".badge");
          badge.textContent = result.data.status.replace("_", " ");
          badge.className = "badge badge-" + result.data.status;
          row.classList.add("decided");
          showMessage(row, "");
          return true;
        })
        .catch(function () {
          showMessage(row, "The server did not respond. Try again.");
          return false;
        });
    }

    document.querySelectorAll("form.js-decision").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        submitDecision(form).then(function (done) {
          var row = form.closest("tr.story-row");
          if (done && rows.indexOf(row) === current) {
            select(current + 1);
          }
        });
      });
    });

    rows.forEach(function (row, index) {
      row.addEventListener("click", function (event) {
        if (!event.target.closest("a, button, input, form")) {
          select(index);
        }
      });
    });

    var selectAll = document.getElementById("select-all");
    if (selectAll) {
      selectAll.addEventListener("change", function () {
        rows.forEach(function (row) {
          row.querySelector("input.pick").checked = selectAll.checked;
        });
      });
    }

    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      if (typingInField(event)) {
        if (event.key === "Escape") {
          event.target.blur();
        }
        return;
      }
      var row = rows[current];
      if (event.key === "j") {
        select(current + 1);
      } else if (event.key === "k") {
        select(current - 1);
      } else if (event.key === "a") {
        var approve = row.querySelector("form.approve-form");
        submitDecision(approve).then(function (done) {
          if (done) {
            select(current + 1);
          }
        });
      } else if (event.key === "r") {
        event.preventDefault();
        row.querySelector("form.reject-form input.reason").focus();
      } else if (event.key === "e") {
        window.location.href = "/stories/" + row.dataset.storyId + "#edit";
      } else if (event.key === "o" || event.key === "Enter") {
        window.location.href = "/stories/" + row.dataset.storyId;
      } else if (event.key === "x") {
        var box = row.querySelector("input.pick");
        box.checked = !box.checked;
      } else {
        return;
      }
      event.preventDefault();
    });

    select(0);
  }

  // Story page: a approve, r reject, e edit; selecting words fills the add-tag form.
  function setUpStory() {
    var text = document.getElementById("story-text");
    if (!text) {
      return;
    }
    text.addEventListener("mouseup", function () {
      var selection = window.getSelection();
      if (!selection || selection.isCollapsed || !selection.rangeCount) {
        return;
      }
      var range = selection.getRangeAt(0);
      var holder = range.startContainer.parentElement;
      if (!holder || !text.contains(holder) || holder.dataset.offset === undefined) {
        return;
      }
      document.getElementById("add-tag-phrase").value = selection.toString();
      document.getElementById("add-tag-start").value = Number(holder.dataset.offset) + range.startOffset;
    });
    // A phrase typed by hand may occur anywhere, so the server searches for it.
    document.getElementById("add-tag-phrase").addEventListener("input", function () {
      document.getElementById("add-tag-start").value = "";
    });

    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typingInField(event)) {
        return;
      }
      if (event.key === "a") {
        document.getElementById("approve-form").submit();
      } else if (event.key === "r") {
        document.getElementById("reject-reason").focus();
      } else if (event.key === "e") {
        var editor = document.getElementById("edit-text");
        editor.scrollIntoView({ block: "center" });
        editor.focus();
      } else {
        return;
      }
      event.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpQueue();
    setUpStory();
  });
})();
