/* Alerts page: the new-silence form sends one label matcher and an end time computed at submit
   (now + the chosen duration, as RFC 3339), filled in before aivmon.js posts the form. */
(function () {
  "use strict";

  function prepare(form) {
    var matcher = {};
    form.querySelectorAll("[data-matcher]").forEach(function (field) {
      matcher[field.dataset.matcher] = field.value;
    });
    form.elements.matchers.value = JSON.stringify([matcher]);
    var seconds = parseInt(form.querySelector("[data-duration-s]").value, 10);
    form.elements.ends_at.value = new Date(Date.now() + seconds * 1000).toISOString();
  }

  // Capture phase: runs before aivmon.js's submit listener (bubbling) reads the fields.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form#silence-form");
    if (form) prepare(form);
  }, true);
})();
