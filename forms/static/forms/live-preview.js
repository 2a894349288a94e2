// A builder's live preview (forms and focus items): as the page's values change, saved or not,
// post them with the page's CSRF token to the admin's preview view, which stores nothing and
// counts nothing, and show the page it answers in the preview frame. A file of its own, as the
// admin's content security policy allows no inline script.
(function () {
  "use strict";

  function preview() {
    var holder = document.querySelector(".live-preview[data-preview-url]");
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", preview);
  } else {
    preview();
  }
})();
