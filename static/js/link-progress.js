// The progress page of a sending of personal links: polls the status JSON and updates the
// counts in place. Without JavaScript the page still works; its "Refresh" link reloads it.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var box = document.getElementById("link-progress");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var pendingAtLoad = Number(box.getAttribute("data-pending"));
  var failedAtLoad = Number(box.getAttribute("data-failed"));
  var offline = document.getElementById("progress-offline");
  var stalled = document.getElementById("progress-stalled");
  var changed = document.getElementById("progress-changed");
  if (pendingAtLoad === 0) { return; }  // finished: nothing will move by itself

  function setText(id, value) {
    var cell = document.getElementById(id);
    if (cell && cell.textContent !== String(value)) { cell.textContent = String(value); }
  }

  function apply(status) {
    ["total", "pending", "sent", "failed", "cancelled", "opened"].forEach(function (name) {
      setText("count-" + name, status[name]);
    });
    if (status.done) {
      // The list of undelivered links and the buttons are made by the server: show them.
      window.location.reload();
      return false;
    }
    if (status.stalled) { stalled.hidden = false; return false; }
    if (status.failed !== failedAtLoad) { changed.hidden = false; }
    return true;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (status) {
        offline.hidden = true;
        if (apply(status)) { window.setTimeout(poll, POLL_MS); }
      })
      .catch(function () { offline.hidden = false; window.setTimeout(poll, POLL_MS * 2); });
  }
  window.setTimeout(poll, POLL_MS);
})();
