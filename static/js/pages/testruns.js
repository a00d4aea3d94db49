/* Test-runs page: the trend chart reads GET /api/v1/testruns (newest first) as one line of
   success rates per suite, oldest first. */
(function () {
  "use strict";
  window.aivmon.adapters.testruns = function (json) {
    var bySuite = new Map();
    (json.results || []).forEach(function (run) {
      if (run.success_rate === null || run.success_rate === undefined) return;
      if (!bySuite.has(run.suite)) bySuite.set(run.suite, []);
      bySuite.get(run.suite).push([Date.parse(run.started_at) / 1000, run.success_rate]);
    });
    // Suites run at different times: each line holds its last rate until its next run, so
    // that lines stay joined where another suite's run sits between two of its own.
    var times = new Set();
    bySuite.forEach(function (points) { points.forEach(function (p) { times.add(p[0]); }); });
    var xs = Array.from(times).sort(function (a, b) { return a - b; });
    return Array.from(bySuite.keys()).sort().map(function (suite) {
      var own = new Map(bySuite.get(suite));
      var last = null, points = [];
      xs.forEach(function (t) {
        if (own.has(t)) last = own.get(t);
        if (last !== null) points.push([t, last]);
      });
      return { label: suite, points: points };
    });
  };
  // aivmon.js may have asked for this adapter before this script ran: load the charts again.
  window.aivmon.refreshCharts();
})();
