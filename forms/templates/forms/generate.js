/* Consentry form embed: injects form {{ form_id }} where this script stands and submits it
   with fetch. It writes no cookie and no storage on this page. */
(function () {
  var html = {{ html_json|safe }}, action = {{ action_json|safe }};
  var prefillable = {{ prefill_json|safe }};
  var me = document.currentScript;
  var box = document.createElement("div");
  box.className = "consentry-form-box";
  box.innerHTML = html;
  // Opened from a focus item, the form goes where the item asked for it (its shadow root).
  var slots = window.ConsentryFormSlots || {};
  var slot = slots[{{ form_id }}];
  if (slot) { delete slots[{{ form_id }}]; slot.appendChild(box); }
  else if (me && me.parentNode) { me.parentNode.insertBefore(box, me.nextSibling); }
  else { document.body.appendChild(box); }
  var form = box.querySelector("form");
  if (!form || !window.fetch || !window.FormData) { return; }
  // Prefill only the form's own fields from explicit URL parameters, never from an identity,
  // never a consent box, and never the embed's own settings (kiosk).
  var params = new URLSearchParams(location.search);
  Array.prototype.forEach.call(form.elements, function (el) {
    if (prefillable.indexOf(el.name) >= 0 && params.has(el.name) && el.type !== "checkbox" && el.type !== "radio") {
      el.value = params.get(el.name).slice(0, 500);
    }
  });
  function show(errors, message) {
    Array.prototype.forEach.call(form.querySelectorAll(".consentry-error[data-for]"), function (el) {
      el.textContent = (errors && errors[el.getAttribute("data-for")]) || "";
    });
    form.querySelector(".consentry-message").textContent = message || "";
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(action, { method: "POST", body: new FormData(form), credentials: "include",
                    headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
      .then(function (result) {
        var body = result[1];
        if (body.ok) {
          if (body.redirect) { location.href = body.redirect; return; }
          form.reset(); show({}, body.message);
        } else {
          show(body.fields || {}, body.detail || "");
        }
      })
      .catch(function () { show({}, "Sorry, the form could not be sent. Please try again."); })
      .then(function () { button.disabled = false; });
  });
})();
