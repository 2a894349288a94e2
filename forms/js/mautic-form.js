/* Consentry's form script for the HTML that Mautic's form builder hands out ("manual copy"):
   the MauticSDK object that the builder's snippet calls, and the MauticFormCallback hooks as
   Mautic documents them (validation, response and general hooks).

   A form <form id="mauticform_NAME" data-mautic-form="NAME"> is checked in the page, then
   posted, as Mautic's own script does, into a hidden iframe with mauticform[messenger]=1; the
   server answers with a page that hands its JSON back here (forms/js/messenger.js), and the
   thank-you, the errors or the redirect show in the page.

   This script writes no cookie and no storage; what the tracker keeps is the server's gate's
   decision alone. */
(function (window, document) {
  "use strict";
  if (window.MauticSDK) { return; }
  if (!window.MauticFormValidations) { window.MauticFormValidations = {}; }

  var WAIT_FOR_ANSWER_MS = 1500; // after the iframe loaded, how long its answer may take
  var FAILED = "Sorry, the form could not be sent. Please try again.";
  var config = {};
  var states = {}; // NAME -> {form, iframe, pending, timer, label}
  var listening = false;

  function byId(id) { return document.getElementById(id); }

  /* A page's hook for this form, if any. null and undefined both mean "not handled". */
  function hook(name, event, data) {
    var all = window.MauticFormCallback;
    var hooks = all && all[name];
    if (hooks && typeof hooks[event] === "function") {
      var result = hooks[event](data === undefined ? null : data);
      return result === undefined ? null : result;
    }
    return null;
  }

  function containerId(name, alias) {
    var id = "mauticform_" + name + "_" + alias;
    return byId(id) ? id : "mauticform_" + alias;
  }

  function origin(url) {
    try { return new URL(url, window.location.href).origin; } catch (e) { return ""; }
  }

  function listen() {
    if (listening) { return; }
    listening = true;
    window.addEventListener("message", function (event) {
      // Only the answer in a form's own iframe, from the server the form posts to.
      for (var name in states) {
        var state = states[name];
        if (state.iframe.contentWindow !== event.source) { continue; }
        if (event.origin !== origin(state.form.action)) { return; }
        var response;
        try {
          response = typeof event.data === "string" ? JSON.parse(event.data) : null;
        } catch (e) { return; }
        if (response && typeof response === "object") { validator(name).parseFormResponse(response); }
        return;
      }
    }, false);
  }

  function prepareValidation(name, form) {
    if (window.MauticFormValidations[name]) { return; }
    var validations = window.MauticFormValidations[name] = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-validate]"), function (box) {
      var alias = box.getAttribute("data-validate");
      validations[alias] = {
        type: box.getAttribute("data-validation-type"),
        name: alias,
        multiple: box.getAttribute("data-validate-multiple")
      };
    });
  }

  function switchPage(form, number) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-mautic-form-page]"), function (page) {
      var n = page.getAttribute("data-mautic-form-page");
      page.style.display = String(number) === n ? "" : "none";
      var pageBreak = form.querySelector('[data-mautic-form-pagebreak="' + n + '"]');
      if (pageBreak) { pageBreak.style.display = String(number) === n ? "" : "none"; }
    });
  }

  function preparePages(name, form) {
    var pages = form.querySelectorAll("[data-mautic-form-page]");
    if (!pages.length) { return; }
    Array.prototype.forEach.call(pages, function (page) {
      var n = parseInt(page.getAttribute("data-mautic-form-page"), 10);
      var pageBreak = form.querySelector('[data-mautic-form-pagebreak="' + n + '"]');
      if (!pageBreak) { return; }
      var prev = pageBreak.querySelector('[data-mautic-form-pagebreak-button="prev"]');
      var next = pageBreak.querySelector('[data-mautic-form-pagebreak-button="next"]');
      if (prev) {
        if (n === 1) { prev.disabled = true; }
        prev.addEventListener("click", function () {
          hook(name, "onShowPreviousPage", n - 1);
          switchPage(form, n - 1);
        });
      }
      if (next) {
        next.addEventListener("click", function () {
          var valid = true;
          Array.prototype.forEach.call(page.querySelectorAll("[data-validate]"), function (box) {
            if (!validator(name).validateField(form, box.getAttribute("data-validate"))) {
              valid = false;
            }
          });
          if (!valid) { return; }
          hook(name, "onShowNextPage", n + 1);
          switchPage(form, n + 1);
        });
      }
    });
    switchPage(form, 1);
  }

  /* Only explicit URL parameters prefill, only visible text-like fields still empty. */
  function prefill(form) {
    if (!window.location.search || !window.URLSearchParams) { return; }
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      Array.prototype.forEach.call(form.querySelectorAll("input, textarea"), function (el) {
        if (el.name !== "mauticform[" + key + "]" || el.value !== "") { return; }
        if (el.type === "hidden" || el.type === "checkbox" || el.type === "radio") { return; }
        el.value = value.replace(/<[^>]*>?/g, "").slice(0, 500);
      });
    });
  }

  function prepareForm(name) {
    var form = byId("mauticform_" + name);
    if (!form || states[name]) { return; }
    var iframe = byId("mauticiframe_" + name);
    if (!iframe) {
      // The builder's HTML has none (or an editor stripped it): the answer lands here.
      iframe = document.createElement("iframe");
      iframe.id = iframe.name = "mauticiframe_" + name;
      iframe.title = "";
      iframe.setAttribute("aria-hidden", "true");
      iframe.style.display = "none";
      document.body.appendChild(iframe);
    }
    form.target = iframe.name || iframe.id;
    if (!byId("mauticform_" + name + "_messenger")) {
      var messenger = document.createElement("input");
      messenger.type = "hidden";
      messenger.name = "mauticform[messenger]";
      messenger.id = "mauticform_" + name + "_messenger";
      messenger.value = "1";
      form.appendChild(messenger);
    }
    var state = states[name] = { form: form, iframe: iframe, pending: false, timer: 0, label: null };
    iframe.addEventListener("load", function () {
      if (!state.pending) { return; }
      // The answer page posts its message while it loads: none by now means no answer (an
      // error page, a network failure), and the visitor is told so instead of waiting.
      window.clearTimeout(state.timer);
      state.timer = window.setTimeout(function () {
        if (!state.pending) { return; }
        state.pending = false;
        validator(name).setMessage(FAILED, "error");
        validator(name).enableSubmitButton();
      }, WAIT_FOR_ANSWER_MS);
    });
    if (!form.getAttribute("onsubmit")) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        validator(name).validateForm(true);
      });
    }
    prepareValidation(name, form);
    preparePages(name, form);
    prefill(form);
    listen();
  }

  function validator(name) {
    var v = {
      validateForm: function (submit) {
        if (!submit) { prepareForm(name); }
        var form = byId("mauticform_" + name);
        var state = states[name];
        if (!form || !state) { return false; }
        var valid = hook(name, "onValidate");
        var firstInvalid = null;
        v.disableSubmitButton();
        if (valid === null) {
          hook(name, "onValidateStart");
          var wrapper = byId("mauticform_wrapper_" + name);
          if (wrapper) { wrapper.classList.remove("mauticform-post-success"); }
          v.setMessage("", "message");
          v.setMessage("", "error");
          valid = true;
          var validations = window.MauticFormValidations[name] || {};
          for (var alias in validations) {
            if (!v.validateField(form, alias)) {
              valid = false;
              if (firstInvalid === null) { firstInvalid = alias; }
            }
          }
          var back = byId("mauticform_" + name + "_return");
          if (valid && back) { back.value = document.URL; }
        }
        if (hook(name, "onValidateEnd", valid) === false) { valid = false; }
        if (valid) {
          state.pending = true;
          window.clearTimeout(state.timer);
          // Without `submit`, the page's own onsubmit returns true and the browser posts.
          if (submit) { form.submit(); }
        } else {
          v.enableSubmitButton();
          if (firstInvalid !== null) {
            showPageOf(name, containerId(name, firstInvalid));
            var field = form.elements["mauticform[" + firstInvalid + "]"];
            if (field && typeof field.focus === "function") { field.focus(); }
          }
        }
        return valid;
      },

      validateField: function (form, alias) {
        var field = (window.MauticFormValidations[name] || {})[alias];
        var id = containerId(name, alias);
        var box = byId(id);
        if (!field || (box && box.getAttribute("data-validate-disable"))) { return true; }
        var valid = hook(name, "onValidateField", { fieldKey: alias, field: field });
        if (valid !== null) { return valid; }
        var key = "mauticform[" + field.name + "]";
        if (field.multiple === "true" || field.type === "checkboxgrp") { key += "[]"; }
        var el = form.elements[key];
        valid = true;
        if (el) {
          if (field.type === "radiogrp" || field.type === "checkboxgrp") {
            var options = el.length === undefined ? [el] : el;
            valid = Array.prototype.some.call(options, function (o) { return o.checked; });
          } else if (field.type === "email") {
            valid = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(el.value);
          } else if (el.type === "checkbox") {
            valid = el.checked;
          } else {
            valid = el.value !== "";
          }
        }
        if (valid) { v.clearError(id); } else { v.markError(id, false); }
        return valid;
      },

      markError: function (id, valid, message) {
        var box = byId(id);
        var span = box ? box.querySelector(".mauticform-errormsg") : null;
        var shown = message === undefined && span ? span.textContent : message;
        if (hook(name, "onErrorMark", { containerId: id, valid: valid, validationMessage: shown })) {
          return;
        }
        if (!span) { return; }
        if (message !== undefined) { span.textContent = message; }
        span.style.display = valid ? "none" : "";
        box.classList.add("mauticform-has-error");
      },

      clearError: function (id) {
        if (hook(name, "onErrorClear", id)) { return; }
        var box = byId(id);
        var span = box ? box.querySelector(".mauticform-errormsg") : null;
        if (!span) { return; }
        span.style.display = "none";
        box.classList.remove("mauticform-has-error");
      },

      clearErrors: function () {
        var form = byId("mauticform_" + name);
        if (!form) { return; }
        Array.prototype.forEach.call(form.querySelectorAll(".mauticform-has-error"), function (box) {
          v.clearError(box.id);
        });
      },

      parseFormResponse: function (response) {
        var state = states[name];
        if (state) {
          state.pending = false;
          window.clearTimeout(state.timer);
          // Back then does not post the form again.
          state.iframe.src = "about:blank";
        }
        if (hook(name, "onResponse", response)) { return; }
        hook(name, "onResponseStart", response);
        if (response.redirect && /^https?:\/\//i.test(response.redirect)) {
          if (response.successMessage) { v.setMessage(response.successMessage, "message"); }
          window.location.href = response.redirect;
          return;
        }
        if (response.validationErrors) {
          var first = null;
          for (var alias in response.validationErrors) {
            var id = containerId(name, alias);
            if (first === null) { first = id; }
            v.markError(id, false, String(response.validationErrors[alias]));
          }
          if (first !== null) { showPageOf(name, first); }
        } else if (response.errorMessage) {
          v.setMessage(String(response.errorMessage), "error");
        }
        if (response.success) {
          if (response.successMessage) { v.setMessage(String(response.successMessage), "message"); }
          var wrapper = byId("mauticform_wrapper_" + name);
          if (wrapper) { wrapper.classList.add("mauticform-post-success"); }
          v.resetForm();
        }
        v.enableSubmitButton();
        hook(name, "onResponseEnd", response);
      },

      setMessage: function (message, type) {
        if (hook(name, "onMessageSet", { message: message, type: type })) { return; }
        var box = byId("mauticform_" + name + "_" + type);
        var form = byId("mauticform_" + name);
        if (!box && message && form) {
          // The builder puts both boxes in the form; a trimmed copy may lack them.
          box = document.createElement("div");
          box.id = "mauticform_" + name + "_" + type;
          box.className = "mauticform-" + type;
          form.insertBefore(box, form.firstChild);
        }
        // Text, never markup: a message cannot inject anything into the page.
        if (box) { box.textContent = message; }
      },

      resetForm: function () {
        var form = byId("mauticform_" + name);
        if (!form) { return; }
        v.clearErrors();
        switchPage(form, 1);
        form.reset();
      },

      disableSubmitButton: function () {
        if (hook(name, "onSubmitButtonDisable")) { return; }
        var button = submitButton(name);
        var state = states[name];
        if (!button) { return; }
        var waiting = window.MauticLang && window.MauticLang.submittingMessage;
        if (state && state.label === null) { state.label = button.textContent; }
        if (waiting) { button.textContent = waiting; }
        button.disabled = true;
      },

      enableSubmitButton: function () {
        if (hook(name, "onSubmitButtonEnable")) { return; }
        var button = submitButton(name);
        var state = states[name];
        if (!button) { return; }
        if (state && state.label !== null) {
          button.textContent = state.label;
          state.label = null;
        }
        button.disabled = false;
      }
    };
    return v;
  }

  function submitButton(name) {
    var form = byId("mauticform_" + name);
    return form && (form.querySelector(".mauticform-button") ||
                    form.querySelector("button[type=submit], input[type=submit]"));
  }

  function showPageOf(name, id) {
    var box = byId(id);
    var page = box && box.closest ? box.closest(".mauticform-page-wrapper") : null;
    if (page) { switchPage(byId("mauticform_" + name), page.getAttribute("data-mautic-form-page")); }
  }

  function prepareForms() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-mautic-form]"), function (f) {
      prepareForm(f.getAttribute("data-mautic-form"));
    });
  }

  function setupForms() {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", prepareForms);
    } else {
      prepareForms();
    }
  }

  window.MauticSDK = {
    onLoad: setupForms,
    setupForms: setupForms,
    prepareForm: prepareForm,
    getValidator: validator,
    validateForm: function (name, submit) { return validator(name).validateForm(!!submit); },
    setConfig: function (options) { config = options || {}; },
    getConfig: function () { return config; }
  };
  // Loaded by a plain <script src> rather than the builder's snippet: the forms work too.
  setupForms();
})(window, document);
