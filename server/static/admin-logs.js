/* Progressive enhancement of /admin/logs: new records stream in (Server-Sent Events) while
   the page is open. Without JavaScript the page still works (reload for new records). */
(function () {
  "use strict";
  var rows = document.getElementById("log-rows");
  var status = document.getElementById("log-status");
  if (!rows || !window.EventSource) { return; }
  var MAX_ROWS = 500;
  var url = "/admin/logs/stream?level=" + encodeURIComponent(rows.dataset.level || "INFO") +
    "&after=" + encodeURIComponent(rows.dataset.after || "0");
  var source = new EventSource(url);

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  source.addEventListener("log", function (event) {
    var record;
    try { record = JSON.parse(event.data); } catch (e) { return; }
    var empty = rows.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    var tr = document.createElement("tr");
    tr.className = "level-" + String(record.level).toLowerCase() + " fresh";
    tr.appendChild(cell(record.time));
    tr.appendChild(cell(record.level));
    tr.appendChild(cell(record.logger));
    tr.appendChild(cell(record.message));
    rows.insertBefore(tr, rows.firstChild);
    while (rows.rows.length > MAX_ROWS) { rows.deleteRow(rows.rows.length - 1); }
  });
  source.addEventListener("open", function () {
    status.textContent = "Live: new records appear at the top as they are logged.";
  });
  source.addEventListener("error", function () {
    status.textContent = "Live updates interrupted; reconnecting…";
  });
  window.addEventListener("pagehide", function () { source.close(); });
}());
