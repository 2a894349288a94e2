/*
 * A minimal IAB TCF v2.2 CMP for the browser tests, written for them: the `__tcfapi(command,
 * version, callback, parameter)` function of the TCF v2.2 CMP JS API, with `ping`,
 * `addEventListener` and `removeEventListener` (`getTCData` is gone from v2.2).
 *
 * - `addEventListener` calls back at once with the current TCData, and again on every change,
 *   with `eventStatus` 'tcloaded' (a TC string was already there: no UI), 'cmpuishown' (the UI
 *   is shown, no choice yet) or 'useractioncomplete' (the visitor acted); each call carries
 *   the listenerId; `success` is true.
 * - The TC string is kept where a CMP keeps it, in the site's own first-party storage (here
 *   localStorage, key `tcf-stub`); a real one encodes it, this one stores the answer as JSON.
 * - Buttons #tcf-accept and #tcf-reject answer for purposes 1-10 and the publisher.
 *   `window.tcfStub.reopen()` shows the banner again (to withdraw).
 */
(function () {
  var CMP_ID = 300;
  var listeners = {};
  var nextId = 1;
  var stored = localStorage.getItem('tcf-stub');
  var answer = stored ? JSON.parse(stored) : null;
  var status = answer ? 'tcloaded' : 'cmpuishown';

  function consents(yes) {
    var map = {};
    for (var p = 1; p <= 10; p++) map[p] = yes;
    return map;
  }

  function tcData(listenerId) {
    var yes = !!(answer && answer.yes);
    return {
      tcString: answer ? 'stub.' + (yes ? 'all' : 'none') : '',
      tcfPolicyVersion: 4,
      cmpId: CMP_ID,
      cmpVersion: 1,
      gdprApplies: true,
      eventStatus: status,
      cmpStatus: 'loaded',
      listenerId: listenerId,
      isServiceSpecific: true,
      useNonStandardTexts: false,
      publisherCC: 'DE',
      purposeOneTreatment: false,
      purpose: { consents: consents(yes), legitimateInterests: {} },
      vendor: { consents: { 755: yes }, legitimateInterests: {} },
      specialFeatureOptins: {},
      publisher: { consents: consents(yes), legitimateInterests: {}, customPurpose: { consents: {}, legitimateInterests: {} }, restrictions: {} },
    };
  }

  function emit() {
    for (var id in listeners) listeners[id](tcData(+id), true);
  }

  function banner(show) {
    var element = document.getElementById('tcf-banner');
    if (element) element.hidden = !show;
  }

  function choose(yes) {
    answer = { yes: yes };
    localStorage.setItem('tcf-stub', JSON.stringify(answer));
    status = 'useractioncomplete';
    banner(false);
    emit();
  }

  window.__tcfapi = function (command, version, callback, parameter) {
    if (version !== 2 || typeof callback !== 'function') return;
    if (command === 'ping') {
      callback({ gdprApplies: true, cmpLoaded: true, cmpStatus: 'loaded', displayStatus: answer ? 'hidden' : 'visible',
        apiVersion: '2.2', cmpVersion: 1, cmpId: CMP_ID, gvlVersion: 1, tcfPolicyVersion: 4 });
    } else if (command === 'addEventListener') {
      var id = nextId++;
      listeners[id] = callback;
      callback(tcData(id), true);
    } else if (command === 'removeEventListener') {
      var had = parameter in listeners;
      delete listeners[parameter];
      callback(had);
    }
  };

  window.tcfStub = {
    reopen: function () { status = 'cmpuishown'; banner(true); emit(); },
  };

  document.addEventListener('DOMContentLoaded', function () {
    banner(!answer);
    document.getElementById('tcf-accept').addEventListener('click', function () { choose(true); });
    document.getElementById('tcf-reject').addEventListener('click', function () { choose(false); });
  });
})();
