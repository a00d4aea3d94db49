/* Health page: utilisations (0–1) drawn as percentages; code-health history as a line per
   component (GET /api/v1/health/code/history). */
(function () {
  "use strict";
  var adapters = window.aivmon.adapters;

  adapters.percent = function (json) {
    return (json.series || []).map(function (s) {
      return {
        label: window.aivmon.labelOf(s),
        points: (s.points || []).map(function (p) { return [p[0], Math.round(p[1] * 10000) / 100]; }),
      };
    });
  };

  adapters.kilo = function (json) {
    return (json.series || []).map(function (s) {
      return {
        label: window.aivmon.labelOf(s),
        points: (s.points || []).map(function (p) { return [p[0], Math.round(p[1]) / 1000]; }),
      };
    });
  };

  adapters.codetrend = function (json) {
    var byComponent = {};
    (json.results || []).forEach(function (scan) {
      var t = Date.parse(scan.finished_at) / 1000;
      (byComponent[scan.component] = byComponent[scan.component] || []).push([t, scan.score]);
    });
    return Object.keys(byComponent).sort().map(function (name) {
      return { label: name, points: byComponent[name].sort(function (a, b) { return a[0] - b[0]; }) };
    });
  };

  // aivmon.js may have drawn before this script ran (both deferred): draw again with these.
  window.aivmon.refreshCharts();
})();
