// The audience form's live count: as a filter changes, ask the admin's count view how many
// contacts the filters choose now, and show it. A file of its own, as the admin's content
// security policy allows no inline script.
(function () {
  "use strict";
  function start() {
    var output = document.getElementById("audience-count");
    var form = output && output.closest("form");
    if (!form) return;
    var timer = null;
    var asked = 0;
    function ask() {
      var mine = ++asked;
      var data = new FormData(form);
      fetch(output.dataset.countUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (mine !== asked) return; // a newer question is on its way
          if (answer.errors) {
            output.textContent = "—";
            output.title = Object.values(answer.errors).join(" ");
          } else {
            output.textContent = String(answer.count);
            output.title = "";
          }
        })
        .catch(function () { output.textContent = "?"; });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    ask();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
