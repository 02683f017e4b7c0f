// Runs static/cloud.js in a bare VM context with a fake DOM and a scripted
// fetch, then prints what the script did as JSON. Used by js_test.go:
//   node cloudjs_harness.js <path to cloud.js> <scenario>
'use strict';
const fs = require('fs');
const vm = require('vm');

const [, , scriptPath, scenario] = process.argv;
const scenarios = {
  ok: [{ status: 200 }, { status: 204 }],
  refused: [{ status: 401, body: '{"errors":[{"title":"Unauthorized"}]}' }],
  blocked: [{ status: 200 }, { status: 401 }],
  unreachable: ['throw'],
  checkfails: [{ status: 200 }, 'throw'],
};
const queue = (scenarios[scenario] || []).slice();

const root = {
  dataset: {
    sessionUrl: 'https://tenant.example/login/jwt-session?qlik-web-integration-id=wi%2B1',
    checkUrl: 'https://tenant.example/api/v1/csrf-token?qlik-web-integration-id=wi%2B1',
    webIntegrationId: 'wi+1',
    jwt: 'HEADER.PAYLOAD.SIG',
    returnTo: 'https://tenant.example/sense/app/1',
  },
  removeAttribute(name) {
    if (name === 'data-jwt') { delete this.dataset.jwt; }
  },
};
const elements = {};
for (const id of ['cloud-heading', 'cloud-progress', 'cloud-blocked', 'cloud-refused', 'cloud-unreachable', 'cloud-continue']) {
  elements[id] = { hidden: id !== 'cloud-heading' && id !== 'cloud-progress', textContent: '' };
}
const calls = [];
const errors = [];
let replaced = null;

async function fetch(url, init) {
  calls.push({ url, method: init.method, mode: init.mode, credentials: init.credentials, headers: init.headers, hasSignal: !!init.signal });
  const r = queue.shift();
  if (!r || r === 'throw') { throw new TypeError('Failed to fetch'); }
  return { ok: r.status >= 200 && r.status < 300, status: r.status, text: async () => r.body || '' };
}

const context = {
  document: { getElementById: (id) => (id === 'cloud-handoff' ? root : elements[id] || null) },
  window: { location: { replace(u) { replaced = u; } }, addEventListener() {} },
  fetch,
  console: { error: (...a) => errors.push(a.map(String).join(' ')) },
  AbortController,
  setTimeout,
  clearTimeout,
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(scriptPath, 'utf8'), context, { filename: 'cloud.js' });

setTimeout(() => {
  const visible = Object.keys(elements).filter((id) => !elements[id].hidden);
  process.stdout.write(JSON.stringify({
    calls, replaced, visible, heading: elements['cloud-heading'].textContent,
    jwtLeftInDOM: 'jwt' in root.dataset, errors,
  }));
}, 100);
