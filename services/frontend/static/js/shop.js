// Progressive enhancements; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // The currency picker submits itself when a currency is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) {
        select.form.submit();
      }
    });
  });

  // A checkout form is sent once: the button is disabled while the order
  // is being placed (the server also refuses to place it twice).
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent = "Placing your order\u2026";
      }
    });
  });
});
