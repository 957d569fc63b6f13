// The control panel's live turnout: polls the status JSON and updates the numbers in place.
// Without JavaScript the page still works; its "Refresh" link reloads it.
(function () {
  "use strict";
  var POLL_MS = 4000;
  var panel = document.getElementById("day-panel");
  if (!panel || !window.fetch) { return; }
  var url = panel.getAttribute("data-status-url");
  var live = document.getElementById("live-mark");
  var offline = document.getElementById("offline-mark");
  var changed = document.getElementById("changed-mark");

  function setText(id, value) {
    var cell = document.getElementById(id);
    if (cell && cell.textContent !== String(value)) { cell.textContent = String(value); }
  }

  function apply(status) {
    Object.keys(status.turnout).forEach(function (categoryId) {
      var row = status.turnout[categoryId];
      ["resident", "official"].forEach(function (group) {
        ["online", "onsite", "paper", "total"].forEach(function (channel) {
          setText("turnout-" + categoryId + "-" + group + "-" + channel, row[group][channel]);
        });
      });
      setText("turnout-" + categoryId + "-total", row.total);
      var section = document.getElementById("day-category-" + categoryId);
      var open = status.sessions[categoryId] ? "true" : "false";
      if (section && section.getAttribute("data-session-open") !== open) { changed.hidden = false; }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (status) { apply(status); offline.hidden = true; live.hidden = false; })
      .catch(function () { offline.hidden = false; })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }
  live.hidden = false;
  window.setTimeout(poll, POLL_MS);
})();
