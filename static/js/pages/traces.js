/* Traces page: the duration chart reads GET /api/v1/traces (summaries) as two bar series. */
(function () {
  "use strict";
  window.aivmon.adapters.traces = function (json) {
    var ok = [], failed = [];
    (json.results || []).forEach(function (trace) {
      var point = [Date.parse(trace.start) / 1000, trace.duration_ms];
      (trace.error_count ? failed : ok).push(point);
    });
    return [
      { label: "traces", points: ok },
      { label: "with errors", points: failed, color: "#c0392b" },
    ];
  };
  // aivmon.js may have asked for this adapter before this script ran: load the charts again.
  window.aivmon.refreshCharts();
})();
