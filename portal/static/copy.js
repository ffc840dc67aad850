// Copy buttons: <button type="button" data-copy="element-id" aria-label="Copy ACS URL">Copy</button>
// A refused clipboard write says so and selects the value, so that Ctrl+C still works.
(function () {
  function status(button, text, failed) {
    var id = button.getAttribute("data-copy") + "-copy-status";
    var note = document.getElementById(id);
    if (!note) {
      note = document.createElement("span");
      note.id = id;
      note.className = "copy-status";
      note.setAttribute("role", failed ? "alert" : "status");
      var row = button.closest(".copy-row") || button;
      row.parentNode.insertBefore(note, row.nextSibling);
    }
    note.setAttribute("role", failed ? "alert" : "status");
    note.classList.toggle("ok", !failed);
    note.textContent = text;
  }

  function select(source) {
    if (source.select) {
      source.focus();
      source.select();
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      status(button, "Copied to the clipboard.", false);
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    var refused = function () {
      select(source);
      status(button, "The browser did not allow copying. The value is selected: press Ctrl+C (⌘C on a Mac) to copy it.", true);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, refused);
    } else {
      select(source);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      if (ok) { done(); } else { refused(); }
    }
  });
}());
