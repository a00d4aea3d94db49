/* Performance page: utilisations (0–1) drawn as percentages. */
(function () {
  "use strict";
  function percent(json) {
    return (json.series || []).map(function (s) {
      return {
        label: window.aivmon.labelOf(s),
        points: (s.points || []).map(function (p) { return [p[0], Math.round(p[1] * 10000) / 100]; }),
      };
    });
  }
  window.aivmon.adapters.percent = percent;
  // aivmon.js may have drawn before this script ran (both deferred): draw again with it.
  window.aivmon.refreshCharts();
})();
