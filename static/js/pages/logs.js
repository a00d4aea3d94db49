/* Logs page: the "Tail" toggle. While on, htmx asks the tail endpoint every 3 s for the records
   stored after the newest one shown (by id) and prepends them to the table. */
(function () {
  "use strict";
  var KEEP_ROWS = 500;
  var on = false;

  function rows() { return document.getElementById("log-rows"); }

  function afterId() {
    var body = rows();
    var newest = +(body.dataset.afterId || 0);
    body.querySelectorAll("tr[data-id]").forEach(function (tr) { newest = Math.max(newest, +tr.dataset.id); });
    return newest;
  }

  function setTail(value) {
    on = value;
    var button = document.getElementById("tail-toggle");
    var status = document.getElementById("tail-status");
    if (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Tailing…" : "Tail";
    }
    if (status) status.textContent = on ? "New records appear at the top every 3 s." : "";
  }

  window.logsTail = { on: function () { return on; }, afterId: afterId, set: setTail };

  document.addEventListener("click", function (event) {
    if (event.target.closest("#tail-toggle")) setTail(!on);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var body = rows();
    if (!body || event.detail.target !== body) return;
    body.dataset.afterId = afterId();
    var all = body.querySelectorAll("tr[data-id]");
    for (var i = KEEP_ROWS; i < all.length; i++) all[i].remove();
    var none = document.getElementById("no-records");
    if (none && all.length) none.remove();
  });
})();
