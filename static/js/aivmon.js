/* aivmon pages: local times, live refresh, theme, charts (uPlot) from the public JSON API,
   and operator actions posted to the same API. No build step: plain ES2017. */
(function () {
  "use strict";

  var REFRESH_MS = 10000;
  var store = window.localStorage;
  var charts = new Map(); // element -> {plot, key}
  var PALETTE = ["#2c7fb8", "#e6550d", "#31a354", "#756bb1", "#d6616b", "#17becf",
                 "#bcbd22", "#8c564b", "#e377c2", "#636363"];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // ---- live refresh and theme --------------------------------------------------------
  function isLive() { return store.getItem("aivmon.live") !== "off"; }

  function setLive(on) {
    store.setItem("aivmon.live", on ? "on" : "off");
    var button = document.getElementById("live-toggle");
    if (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Live" : "Paused";
      button.title = on ? "Pages refresh themselves every 10 s (click to pause)"
                        : "Refresh is paused (click to resume)";
    }
  }

  function toggleTheme() {
    var next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    store.setItem("aivmon.theme", next);
    charts.forEach(function (_, el) { draw(el); });
  }

  // ---- times in the viewer's timezone ------------------------------------------------
  var dateFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (!isNaN(moment)) {
        el.textContent = dateFormat.format(moment);
        el.title = moment.toISOString();
      }
    });
  }

  // ---- charts ------------------------------------------------------------------------
  function labelOf(item) {
    var parts = [];
    if (item.service) parts.push(item.service);
    var labels = item.labels || {};
    Object.keys(labels).sort().forEach(function (k) { parts.push(k + "=" + labels[k]); });
    return (item.name || "") + (parts.length ? " {" + parts.join(", ") + "}" : "");
  }

  // An adapter turns an API answer into [{label, points: [[t_seconds, value], ...]}].
  var adapters = {
    // /api/v1/metrics/query
    metrics: function (json) {
      return (json.series || []).map(function (s) {
        return { label: labelOf(s), points: s.points || [] };
      });
    },
    // any answer already shaped {lines: [{label, points}]}
    lines: function (json) { return json.lines || []; },
  };

  function align(lines) {
    var xs = new Set();
    lines.forEach(function (line) { line.points.forEach(function (p) { xs.add(+p[0]); }); });
    var x = Array.from(xs).sort(function (a, b) { return a - b; });
    var index = new Map(x.map(function (t, i) { return [t, i]; }));
    var data = [x];
    lines.forEach(function (line) {
      var ys = new Array(x.length).fill(null);
      line.points.forEach(function (p) { ys[index.get(+p[0])] = p[1] === null ? null : +p[1]; });
      data.push(ys);
    });
    return data;
  }

  function sourceUrl(el) {
    var url = new URL(el.dataset.src, window.location.origin);
    var range = parseInt(el.dataset.range || "0", 10);
    if (range > 0) {
      var now = Date.now() / 1000;
      url.searchParams.set("start", (now - range).toFixed(3));
      url.searchParams.set("end", now.toFixed(3));
    }
    return url.toString();
  }

  function showEmpty(el, message) {
    var note = el.parentElement.querySelector(".chart-empty");
    if (note) {
      note.hidden = !message;
      if (message) note.textContent = message;
    }
  }

  // Wide enough for the longest tick label (about 7 px a character at 12 px).
  function valueAxisSize(u, values) {
    var longest = (values || []).reduce(function (n, v) { return Math.max(n, String(v).length); }, 0);
    return Math.max(40, longest * 7 + 18);
  }

  function render(el, lines) {
    var entry = charts.get(el) || {};
    if (entry.plot) { entry.plot.destroy(); }
    el.innerHTML = "";
    lines = lines.filter(function (line) { return line.points && line.points.length; });
    if (!lines.length) {
      charts.set(el, { lines: lines });
      el.dataset.drawn = "empty";
      showEmpty(el, "No data in this range.");
      return;
    }
    showEmpty(el, "");
    var bars = el.dataset.kind === "bars";
    var unit = el.dataset.unit || "";
    var fg = cssVar("--muted") || "#5b6475";
    var grid = cssVar("--grid") || "#e6e9ef";
    var axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    var series = [{}].concat(lines.map(function (line, i) {
      var color = line.color || PALETTE[i % PALETTE.length];
      // Lines of one chart rarely share every timestamp: bridge the gaps alignment leaves.
      var s = { label: line.label, stroke: color, width: 1.5, spanGaps: true,
                value: function (u, v) { return v == null ? "—" : (+v.toPrecision(4)) + unit; } };
      if (bars) {
        s.fill = color; s.paths = uPlot.paths.bars({ size: [0.7, 60] }); s.points = { show: false };
      }
      return s;
    }));
    var opts = {
      width: Math.max(el.clientWidth, 200),
      height: parseInt(el.dataset.height || "220", 10),
      series: series,
      axes: [axis, Object.assign({ size: valueAxisSize,
        values: function (u, ticks) { return ticks.map(function (v) { return (+v.toPrecision(3)) + unit; }); } }, axis)],
      legend: { show: lines.length <= 12 },
      cursor: { drag: { x: true, y: false } },
    };
    var plot = new uPlot(opts, align(lines), el);
    charts.set(el, { plot: plot, lines: lines });
    el.dataset.drawn = "1";
  }

  function draw(el) {
    var entry = charts.get(el);
    if (entry && entry.lines) render(el, entry.lines);
  }

  function load(el) {
    var adapter = adapters[el.dataset.adapter || "metrics"];
    if (!adapter) { showEmpty(el, "Unknown chart adapter " + el.dataset.adapter); return; }
    return fetch(sourceUrl(el), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (json) {
          if (!response.ok) {
            var message = json && json.error ? json.error.message : response.statusText;
            throw new Error(message);
          }
          return json;
        });
      })
      .then(function (json) { render(el, adapter(json, el)); })
      .catch(function (error) {
        el.dataset.drawn = "error";
        showEmpty(el, "Could not load: " + error.message);
      });
  }

  function initCharts(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (!charts.has(el)) { charts.set(el, {}); load(el); }
    });
  }

  function refreshCharts() {
    charts.forEach(function (_, el) {
      if (!document.body.contains(el)) { charts.delete(el); return; }
      load(el);
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (entry, el) {
        if (entry.plot) entry.plot.setSize({ width: Math.max(el.clientWidth, 200), height: entry.plot.height });
      });
    }, 150);
  });

  // ---- actions through the public API -----------------------------------------------
  function apiSend(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().then(function (json) {
        if (!response.ok) throw new Error(json && json.error ? json.error.message : response.statusText);
        return json;
      });
    });
  }

  function announce(target, message, failed) {
    var box = document.getElementById("action-status");
    if (!box) {
      box = document.createElement("p");
      box.id = "action-status";
      box.setAttribute("role", "status");
      box.className = "card";
      document.getElementById("main").prepend(box);
    }
    box.textContent = message;
    box.classList.toggle("bad", !!failed);
  }

  function refreshLive() {
    if (window.htmx) window.htmx.trigger(document.body, "aivmon:refresh");
    refreshCharts();
  }

  // <button data-api="POST /api/v1/alerts/7/acknowledge" data-body='{"…"}' data-done="Acknowledged">
  function onApiButton(button) {
    var spec = button.dataset.api.split(" ");
    var body = button.dataset.body ? JSON.parse(button.dataset.body) : {};
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    apiSend(spec[0], spec[1], spec[0] === "DELETE" ? undefined : body)
      .then(function () { announce(button, button.dataset.done || "Done."); refreshLive(); })
      .catch(function (error) { announce(button, "Refused: " + error.message, true); })
      .finally(function () { button.disabled = false; });
  }

  // <form data-api-form="POST /api/v1/silences">: fields become JSON; data-json fields parse as JSON,
  // data-epoch fields (datetime-local) become epoch seconds in the viewer's timezone.
  function onApiForm(form) {
    var spec = form.dataset.apiForm.split(" ");
    var body = {};
    Array.from(form.elements).forEach(function (field) {
      if (!field.name || field.value === "") return;
      var value = field.value;
      if (field.dataset.json !== undefined) value = JSON.parse(value);
      else if (field.dataset.epoch !== undefined) value = new Date(value).getTime() / 1000;
      else if (field.type === "number") value = +value;
      body[field.name] = value;
    });
    apiSend(spec[0], spec[1], body)
      .then(function () { announce(form, form.dataset.done || "Saved."); form.reset(); refreshLive(); })
      .catch(function (error) { announce(form, "Refused: " + error.message, true); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-api]");
    if (button) { event.preventDefault(); onApiButton(button); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-api-form]");
    if (form) { event.preventDefault(); onApiForm(form); }
  });

  // ---- start-up -----------------------------------------------------------------------
  function start() {
    setLive(isLive());
    var live = document.getElementById("live-toggle");
    if (live) live.addEventListener("click", function () { setLive(!isLive()); });
    var theme = document.getElementById("theme-toggle");
    if (theme) theme.addEventListener("click", toggleTheme);
    localTimes(document);
    initCharts(document);
    if (window.htmx) {
      window.htmx.onLoad(function (el) { localTimes(el); initCharts(el); });
    }
    setInterval(function () { if (isLive() && !document.hidden) refreshCharts(); }, REFRESH_MS);
  }

  window.aivmon = {
    isLive: isLive, setLive: setLive, localTimes: localTimes, adapters: adapters,
    initCharts: initCharts, refreshCharts: refreshCharts, labelOf: labelOf, api: apiSend,
    refresh: refreshLive,
  };
  // Deferred page scripts run after this one and before DOMContentLoaded: waiting for it lets
  // them register their chart adapters first.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
