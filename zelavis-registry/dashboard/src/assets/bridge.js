// zelavis-bridge/1, page side. Load it in a plugin page with
//   <script src="/zelavis/api/v1/dashboard/bridge.js"></script>
// and use window.zelavis:
//   await zelavis.ready;                       // the shell accepted this frame
//   zelavis.nav.go('/ecommerce/orders');       zelavis.nav.setTitle('Order #42');
//   zelavis.toast.show('Saved', 'success');    const t = await zelavis.theme.get();
//   zelavis.theme.onChange((t) => ...);        zelavis.frame.resize(document.body.scrollHeight);
//   const r = await zelavis.api.fetch('/orders');   // only under this plugin's own API prefix
// Every call returns a promise; refusals reject with an Error whose .code is the bridge error code.
(() => {
  'use strict';
  const V = 'zelavis-bridge/1';
  const match = /(?:^#|&)zelavis-bridge=([0-9a-f]{32})(?:&|$)/.exec(location.hash);
  const nonce = match ? match[1] : null;
  let port = null;
  let nextId = 1;
  const pending = new Map();
  const themeListeners = [];
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });

  function onPortMessage(event) {
    const msg = event.data;
    if (!msg || msg.v !== V) return;
    if (msg.event === 'theme.changed') {
      for (const listener of themeListeners) { try { listener(msg.params); } catch (e) { console.error(e); } }
      return;
    }
    const waiting = pending.get(msg.id);
    if (!waiting) return;
    pending.delete(msg.id);
    if (msg.error) {
      const error = new Error(msg.error.message);
      error.code = msg.error.code;
      waiting.reject(error);
    } else {
      waiting.resolve(msg.result);
    }
  }

  window.addEventListener('message', (event) => {
    if (event.source !== window.parent) return;
    const msg = event.data;
    if (!msg || msg.v !== V) return;
    if (msg.type === 'welcome' && event.ports && event.ports[0] && !port) {
      port = event.ports[0];
      port.onmessage = onPortMessage;
      resolveReady(msg.theme);
    } else if (msg.error) {
      const error = new Error(msg.error.message);
      error.code = msg.error.code;
      rejectReady(error);
    }
  });

  function call(method, params) {
    return ready.then(() => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      port.postMessage({ v: V, id, method, params: params || {} });
    }));
  }

  if (window.parent !== window && nonce) {
    window.parent.postMessage({ v: V, type: 'hello', nonce }, '*');
  } else {
    rejectReady(Object.assign(new Error('not opened by the Zelavis shell'), { code: 'no_shell' }));
  }
  ready.catch(() => {});

  window.zelavis = {
    version: V,
    ready,
    call,
    nav: { go: (path) => call('nav.go', { path }), setTitle: (title) => call('nav.setTitle', { title }) },
    toast: { show: (message, kind) => call('toast.show', { message, kind: kind || 'info' }) },
    theme: { get: () => call('theme.get', {}), onChange: (listener) => { themeListeners.push(listener); } },
    frame: { resize: (height) => call('frame.resize', { height: Math.ceil(height) }) },
    api: {
      fetch: (path, init) => call('api.fetch', Object.assign({ path }, init || {})),
      json: async (path, init) => {
        const response = await call('api.fetch', Object.assign({ path }, init || {}));
        return JSON.parse(response.body);
      },
    },
  };
})();
