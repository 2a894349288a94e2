// The focus builder: colour pickers kept in step with their #rrggbb boxes, and the live
// preview, redrawn from the values on the page (saved or not) as they change. The preview
// page comes from the admin's preview view, which stores nothing and counts nothing. A file of
// its own, as the admin's content security policy allows no inline script.
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

  function preview() {
    var holder = document.querySelector(".focus-preview[data-preview-url]");
    var frame = holder && holder.querySelector("iframe");
    var form = holder && holder.closest("form");
    if (!frame || !form) return;
    var timer = null;
    var asked = 0;
    var drawn = null;
    function draw() {
      var data = new FormData(form);
      data.set("item", holder.dataset.item || "");
      // A change event that follows an input event changes nothing: keep what the preview
      // shows (a form opened in it, say).
      var values = new URLSearchParams(data).toString();
      if (values === drawn) return;
      drawn = values;
      var mine = ++asked;
      fetch(holder.dataset.previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (page) {
          if (mine !== asked) return; // a newer drawing is on its way
          frame.srcdoc = page;
        })
        .catch(function () { drawn = null; holder.dataset.failed = "1"; });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(draw, 250);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    draw();
  }

  function start() {
    colours();
    preview();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
