// The focus builder's colour pickers, kept in step with their #rrggbb boxes (the live preview
// is forms/live-preview.js). A file of its own, as the admin's content security policy allows
// no inline script.
(function () {
  "use strict";
  var HEX = /^#[0-9a-fA-F]{6}$/;

  function colours() {
    document.querySelectorAll("input[type=color][data-colour-for]").forEach(function (picker) {
      var box = document.getElementById(picker.dataset.colourFor);
      if (!box) return;
      picker.addEventListener("input", function () {
        box.value = picker.value;
        box.dispatchEvent(new Event("input", { bubbles: true }));
      });
      box.addEventListener("input", function () {
        if (HEX.test(box.value)) picker.value = box.value.toLowerCase();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", colours);
  } else {
    colours();
  }
})();
