// Passkey (WebAuthn) ceremonies for qlikgate's pages, loaded by a <script
// src> (the Content-Security-Policy allows no inline script). A form
// marked data-passkey="register|verify|login" asks data-options for the
// ceremony's options, runs navigator.credentials, writes the answer into
// its hidden "credential" field and posts itself: the server answers with
// an ordinary page. Without this script (or without WebAuthn in the
// browser) the passkey sections stay hidden.
(function () {
  'use strict';
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function fromB64(s) {
    var b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) {
      out[i] = b.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64(buf) {
    var bytes = new Uint8Array(buf), s = '';
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, {id: fromB64(c.id)});
    });
  }

  // The JSON helpers are in every current browser; the fallbacks are for
  // those that have WebAuthn but not yet these.
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    }
    return Object.assign({}, o, {
      challenge: fromB64(o.challenge),
      user: Object.assign({}, o.user, {id: fromB64(o.user.id)}),
      excludeCredentials: descriptors(o.excludeCredentials)
    });
  }

  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    }
    return Object.assign({}, o, {challenge: fromB64(o.challenge), allowCredentials: descriptors(o.allowCredentials)});
  }

  function answer(cred) {
    if (typeof cred.toJSON === 'function') {
      return cred.toJSON();
    }
    var r = cred.response, out = {
      id: cred.id, rawId: toB64(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {clientDataJSON: toB64(r.clientDataJSON)}
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64(r.userHandle);
      }
    }
    return out;
  }

  function showError(form, text) {
    var p = form.querySelector('.passkey-error');
    if (p) {
      p.textContent = text || form.getAttribute('data-error');
      p.hidden = false;
    }
  }

  async function ceremony(form) {
    var purpose = form.getAttribute('data-passkey');
    var r = await fetch(form.getAttribute('data-options'), {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({csrf: form.elements.csrf.value, purpose: purpose})
    });
    var body = await r.json().catch(function () { return {}; });
    if (!r.ok || !body.publicKey) {
      showError(form, body.message);
      return;
    }
    var cred = purpose === 'register'
      ? await navigator.credentials.create({publicKey: creationOptions(body.publicKey)})
      : await navigator.credentials.get({publicKey: requestOptions(body.publicKey)});
    form.elements.credential.value = JSON.stringify(answer(cred));
    form.submit();
  }

  document.querySelectorAll('[data-passkey-section]').forEach(function (el) {
    el.hidden = false;
  });
  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      // A removal confirmed with a TOTP code needs no ceremony.
      var code = form.elements.code;
      if (code && code.value.trim() !== '') {
        return;
      }
      e.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      if (button) {
        button.disabled = true;
      }
      ceremony(form).catch(function () {
        showError(form);
      }).finally(function () {
        if (button) {
          button.disabled = false;
        }
      });
    });
  });
  // Only a passkey can be used here: start with its button focused.
  var only = document.getElementById('passkey-submit');
  if (only && !document.getElementById('code')) {
    only.focus();
  }
}());
