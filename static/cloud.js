// qlikgate: hand a signed-in user over to Qlik Cloud (see templates/cloud.html
// and the Go package qlik/cloud).
//
// The tenant's session cookies must land in the browser, and its login
// endpoint takes the JWT in a header, so the browser itself POSTs the token
// to /login/jwt-session with credentials. Then it asks /api/v1/csrf-token,
// which answers 204 only when the request carried the new session cookie:
// a browser that blocks third-party cookies accepts the POST but drops the
// cookie, and this check is how we can tell and explain it instead of
// sending the user into a login loop. Plain ES2017, no dependencies; no
// inline script, so the page's CSP needs only script-src 'self' and
// connect-src <tenant>.
(function () {
  'use strict';

  var TIMEOUT_MS = 20000;

  var root = document.getElementById('cloud-handoff');
  if (!root) {
    return;
  }
  var d = {
    sessionURL: root.dataset.sessionUrl,
    checkURL: root.dataset.checkUrl,
    integrationID: root.dataset.webIntegrationId,
    jwt: root.dataset.jwt,
    returnTo: root.dataset.returnTo,
    // The page's language comes from the server; English is only a
    // fallback for a custom template without the attribute.
    failedHeading: root.dataset.failedHeading || 'Could not sign you in to Qlik Cloud'
  };
  // The token is single-use; keep it out of the DOM once read.
  root.removeAttribute('data-jwt');

  function byId(id) {
    return document.getElementById(id);
  }

  // fail replaces the progress text with one of the hidden explanations
  // and the manual "Continue to Qlik Cloud" link.
  function fail(id) {
    byId('cloud-heading').textContent = d.failedHeading;
    byId('cloud-progress').hidden = true;
    byId(id).hidden = false;
    byId('cloud-continue').hidden = false;
  }

  // call is fetch with a timeout, always cross-origin with credentials so
  // that the tenant's cookies are stored and sent.
  async function call(url, method, headers) {
    var init = { method: method, mode: 'cors', credentials: 'include', cache: 'no-store', headers: headers };
    var timer = 0;
    if (typeof AbortController === 'function') {
      var ctrl = new AbortController();
      init.signal = ctrl.signal;
      timer = setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    }
    try {
      return await fetch(url, init);
    } finally {
      clearTimeout(timer);
    }
  }

  async function handOff() {
    var res;
    try {
      res = await call(d.sessionURL, 'POST', {
        'Authorization': 'Bearer ' + d.jwt,
        'Qlik-Web-Integration-ID': d.integrationID,
        'Content-Type': 'application/json'
      });
    } catch (err) {
      // A network error and a CORS refusal (origin not in the web
      // integration) look the same to a script.
      console.error('qlikgate: could not reach the Qlik Cloud tenant', err);
      fail('cloud-unreachable');
      return;
    }
    if (!res.ok) {
      var body = '';
      try { body = await res.text(); } catch (ignored) { /* the status is enough */ }
      console.error('qlikgate: Qlik Cloud refused the sign-in token: HTTP ' + res.status, body);
      fail('cloud-refused');
      return;
    }
    var check;
    try {
      check = await call(d.checkURL, 'GET', { 'Qlik-Web-Integration-ID': d.integrationID });
    } catch (err) {
      console.error('qlikgate: could not verify the Qlik Cloud session', err);
      fail('cloud-blocked');
      return;
    }
    if (check.status !== 204) {
      console.error('qlikgate: the Qlik Cloud session cookie was not kept (csrf-token answered HTTP ' + check.status + ')');
      fail('cloud-blocked');
      return;
    }
    // replace: the back button must not return to a used token.
    window.location.replace(d.returnTo);
  }

  // A page restored from the back/forward cache holds a used token; offer
  // the link instead of trying again.
  window.addEventListener('pageshow', function (ev) {
    if (ev.persisted) {
      byId('cloud-continue').hidden = false;
    }
  });

  handOff();
}());
