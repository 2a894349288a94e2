/* Consentry focus item {{ item_id }}: rendered in a shadow root, isolated from the page's CSS.
   It writes no cookie and no storage on this page; the view pixel counts it on the server.
   In the builder's preview it has no view pixel, shows at once and sends no form.
   As /focus/{id}/display.js it has no view pixel until its tracking layer hands it one
   (Mautic 7's window.MauticFocus.enableTracking(id)). */
(function () {
  var c = {{ config_json|safe }};
  var shown = false;
  var pixel = c.pixel;
  function count() {
    if (shown && pixel) { new Image().src = pixel; pixel = ""; }
  }
  function show() {
    if (shown || !document.body) { return; }
    shown = true;
    var host = document.createElement("div");
    host.setAttribute("data-consentry-focus", String(c.id));
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var text = c.buttonText || "#fff";
    var css = ":host{all:initial}" +
      ".f{position:fixed;z-index:2147483000;box-sizing:border-box;font:15px/1.4 system-ui,sans-serif;max-height:100vh;overflow:auto;" +
      "background:" + c.bg + ";color:" + c.fg + ";color-scheme:" + (c.scheme || "normal") + ";padding:16px 48px 16px 20px;box-shadow:0 4px 24px rgba(0,0,0,.25)}" +
      ".bar_top{top:0;left:0;right:0}.bar_bottom{bottom:0;left:0;right:0}" +
      ".modal{top:50%;left:50%;transform:translate(-50%,-50%);max-width:32rem;width:90%;max-height:90vh;border-radius:8px}" +
      ".bd{position:fixed;inset:0;z-index:2147482999;background:rgba(0,0,0,.55)}" +
      ".notification{right:16px;bottom:16px;max-width:22rem;border-radius:8px}" +
      ".full_page{inset:0;display:flex;flex-direction:column;justify-content:center;align-items:center;text-align:center}" +
      "h2{margin:0 0 6px;font-size:1.15em}.t{margin:0 0 10px}.t a{color:inherit}" +
      ".b,.f button[type=submit]{display:inline-block;background:" + c.button + ";color:" + text + ";border:0;border-radius:6px;padding:8px 16px;font:inherit;cursor:pointer;text-decoration:none}" +
      ".x{position:absolute;top:8px;right:12px;background:none;border:0;color:inherit;font-size:22px;cursor:pointer}" +
      // The form a button opens takes the item's colours, whatever the host page's CSS says.
      ".f form{margin:10px 0 0;text-align:left;max-width:28rem}.f .consentry-field{margin:0 0 10px}" +
      ".f label,.f legend{color:inherit;font:inherit}.f fieldset{border:0;margin:0;padding:0}" +
      ".f .consentry-field>label{display:block;margin:0 0 4px}.f fieldset label{display:block}" +
      ".f input,.f select,.f textarea{box-sizing:border-box;font:inherit;color:inherit;accent-color:" + c.button + "}" +
      ".f input:not([type=checkbox]):not([type=radio]),.f select,.f textarea{display:block;width:100%;padding:7px 10px;" +
      "background:transparent;border:1px solid;border-radius:6px}" +
      ".f select option{background:" + c.bg + ";color:" + c.fg + "}" +
      ".f .consentry-error{display:block;font-size:.9em;font-weight:600}.f .consentry-error:empty{display:none}" +
      ".f .consentry-message{margin:8px 0 0}.f .consentry-message:empty{display:none}";
    var style = document.createElement("style");
    style.textContent = css;
    var box = document.createElement("div");
    box.className = "f " + c.style;
    box.setAttribute("role", c.style === "modal" || c.style === "full_page" ? "dialog" : "region");
    var h = document.createElement("h2");
    h.textContent = c.headline;
    var t = document.createElement("div");
    t.className = "t";
    t.innerHTML = c.text;  // sanitised on the server to a safe subset
    var close = document.createElement("button");
    close.className = "x";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    function dismiss() { host.remove(); document.removeEventListener("keydown", escape); }
    function escape(e) { if (e.key === "Escape") { dismiss(); } }
    close.addEventListener("click", dismiss);
    box.appendChild(close); box.appendChild(h); box.appendChild(t);
    if (c.href) {
      var a = document.createElement("a");
      a.className = "b"; a.href = c.href; a.textContent = c.label;
      // The builder's preview leaves the admin where it is.
      if (c.preview) { a.target = "_blank"; a.rel = "noopener"; }
      box.appendChild(a);
    } else if (c.form) {
      var open = document.createElement("button");
      open.className = "b"; open.textContent = c.label;
      open.addEventListener("click", function () {
        open.remove();
        // A script inside a shadow root has no document.currentScript: tell the form script
        // where to put the form.
        var slot = document.createElement("div");
        box.appendChild(slot);
        (window.ConsentryFormSlots = window.ConsentryFormSlots || {})[c.formId] = slot;
        var s = document.createElement("script");
        s.src = c.form;
        box.appendChild(s);
      });
      box.appendChild(open);
    }
    root.appendChild(style);
    if (c.style === "modal") {
      // A modal dims the page behind it; a click on the dimmed page or Escape closes it.
      box.setAttribute("aria-modal", "true");
      var backdrop = document.createElement("div");
      backdrop.className = "bd";
      backdrop.addEventListener("click", dismiss);
      root.appendChild(backdrop);
      document.addEventListener("keydown", escape);
    }
    if (c.preview) {
      // The builder's preview sends nothing: a form opened in it is shown, never submitted.
      root.addEventListener("submit", function (e) {
        e.preventDefault(); e.stopPropagation();
        var said = e.target.querySelector && e.target.querySelector(".consentry-message");
        if (said) { said.textContent = "Preview: nothing was sent."; }
      }, true);
    }
    root.appendChild(box);
    document.body.appendChild(host);
    count();
  }
  function when() {
    if (c.trigger === "delay") { setTimeout(show, c.value * 1000); }
    else if (c.trigger === "scroll") {
      var check = function () {
        var d = document.documentElement, max = d.scrollHeight - innerHeight;
        if (max <= 0 || (scrollY / max) * 100 >= c.value) { window.removeEventListener("scroll", check); show(); }
      };
      window.addEventListener("scroll", check, { passive: true }); check();
    } else if (c.trigger === "exit_intent") {
      document.addEventListener("mouseout", function (e) { if (!e.relatedTarget && e.clientY <= 0) { show(); } });
    } else { show(); }
  }
  if (c.preview) { show(); return; }
  if (c.split) {
    // Mautic 7's registry of displayed items, and its public API to add tracking after consent.
    var items = window.MauticFocusItems = window.MauticFocusItems || {};
    var item = items[c.id] = {
      trackingEnabled: false,
      loadTracking: function () {
        if (item.trackingEnabled) { return; }
        item.trackingEnabled = true;
        var s = document.createElement("script");
        s.src = c.tracking;
        (document.head || document.body).appendChild(s);
      },
      track: function (url) { pixel = url; count(); }
    };
    var api = window.MauticFocus = window.MauticFocus || {};
    api.enableTracking = api.enableTracking || function (id) {
      var found = window.MauticFocusItems && window.MauticFocusItems[id];
      if (found) { found.loadTracking(); }
      else { (window.MauticFocusTrackingQueue = window.MauticFocusTrackingQueue || {})[id] = true; }
    };
    var queue = window.MauticFocusTrackingQueue;
    if (queue && queue[c.id]) { delete queue[c.id]; item.loadTracking(); }
    if (window.MauticFocusUseMauticTrackingConsent === true) {
      if (window.MauticJS && window.MauticJS.trackingEnabled === true) { item.loadTracking(); }
      else { document.addEventListener("mautic:tracking-enabled", item.loadTracking); }
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", when); }
  else { when(); }
})();
