// Zelavis dashboard shell: navigation slides, Marketplace, Workspace, plugin frames and the shell side of the
// zelavis-bridge/1 protocol. Vanilla JS, no build step. Every text from the server or a plugin is set with
// textContent, never parsed as HTML.
(() => {
  'use strict';

  const boot = JSON.parse(document.getElementById('zelavis-boot').textContent);
  const V = boot.bridge;
  const ROOT = boot.root || '';
  const BASE = boot.base;
  const PAGE_ORIGIN = boot.pageOrigin || '';
  const SANDBOX = 'allow-scripts allow-forms';

  const state = { config: null, nav: null, slides: [], filter: 'all', title: null, route: null };
  const log = [];
  window.zelavisShell = { log, state };

  // ---------------------------------------------------------------- helpers
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function record(kind, detail) {
    const entry = { at: Date.now(), kind, detail };
    log.push(entry);
    if (log.length > 200) log.shift();
    console.warn('[zelavis-bridge]', kind, detail);
  }

  function encodeSegment(text) {
    let out = '';
    for (const byte of new TextEncoder().encode(text)) {
      const ch = String.fromCharCode(byte);
      if (/[A-Za-z0-9\-._~]/.test(ch)) out += ch;
      else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
    return out;
  }

  const PALETTE = ['#4f46e5', '#0e9384', '#d92d20', '#dc6803', '#7a5af8', '#1570ef', '#c11574', '#099250'];
  function colorOf(text) {
    let hash = 0;
    for (const ch of text) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    return PALETTE[hash % PALETTE.length];
  }
  function initials(text) {
    const words = text.replace(/^@[^/]+\//, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
    return ((words[0] || '?')[0] + (words[1] ? words[1][0] : '')).toUpperCase();
  }

  async function api(path, options = {}) {
    const init = { credentials: 'same-origin', method: options.method || 'GET', headers: { accept: 'application/json' } };
    if (options.body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(BASE + path, init);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = { message: text }; }
    if (!response.ok) {
      const error = new Error((data && data.message) || response.statusText);
      error.code = data && data.error;
      error.status = response.status;
      throw error;
    }
    return { status: response.status, data };
  }

  // ---------------------------------------------------------------- theme
  const TOKENS = {
    light: { background: '#f6f7f9', surface: '#ffffff', text: '#101828', muted: '#5b6474', border: '#e3e7ee', accent: '#4f46e5' },
    dark: { background: '#0d1117', surface: '#151b23', text: '#e6e9ef', muted: '#a1a9b8', border: '#2a3240', accent: '#8b85ff' },
  };
  let mode = localStorage.getItem('zelavis-theme') === 'dark' ? 'dark' : 'light';
  function theme() { return { mode, tokens: Object.assign({}, TOKENS[mode]) }; }
  function applyTheme() { document.documentElement.dataset.theme = mode; }
  function setTheme(next) {
    mode = next;
    localStorage.setItem('zelavis-theme', mode);
    applyTheme();
    renderTopbar();
    for (const frame of document.querySelectorAll('zelavis-plugin-frame')) frame.send({ v: V, event: 'theme.changed', params: theme() });
  }
  applyTheme();

  // ---------------------------------------------------------------- toasts
  function toast(message, kind = 'info', from = null) {
    const box = document.querySelector('.toasts');
    const item = h('div', { class: 'toast ' + kind, role: 'status' },
      h('div', null, from ? h('span', { class: 'from', text: from }) : null, h('span', { text: message })));
    box.append(item);
    setTimeout(() => item.remove(), 5000);
  }

  // ---------------------------------------------------------------- data
  async function refresh() {
    const [config, nav] = await Promise.all([api('/dashboard/config'), api('/dashboard/navigation')]);
    state.config = config.data;
    state.nav = nav.data;
  }

  function walk(items, visit, trail = []) {
    for (const item of items) {
      if (visit(item, trail) === true) return true;
      if (item.items && walk(item.items, visit, trail.concat([item]))) return true;
    }
    return false;
  }
  function findBy(predicate) {
    let found = null;
    walk(state.nav.items, (item, trail) => {
      if (predicate(item)) { found = { item, trail }; return true; }
      return false;
    });
    return found;
  }
  function pluginInfo(name) { return state.config.plugins.find((p) => p.name === name); }

  // ---------------------------------------------------------------- routing
  function currentPath() {
    let path = location.pathname;
    if (ROOT && path.startsWith(ROOT)) path = path.slice(ROOT.length);
    return path.replace(/\/+$/, '') || '/';
  }
  function resolve(path) {
    if (path === '/') return { view: 'overview', title: 'Overview' };
    if (path === '/marketplace') return { view: 'marketplace', title: 'Marketplace' };
    const found = findBy((item) => item.path === path && item.kind !== 'section');
    if (found) return { view: 'item', item: found.item, trail: found.trail, title: found.item.title };
    const plugin = path.match(/^\/plugins\/(.+)$/);
    if (plugin) {
      const name = decodeURIComponent(plugin[1]);
      const entry = findBy((item) => item.kind === 'plugin' && item.plugin === name);
      if (entry) return { view: 'item', item: entry.item, trail: entry.trail, title: entry.item.title };
    }
    return { view: 'missing', title: 'Not found' };
  }
  function hrefOf(item) {
    if (item.path) return item.path;
    if (item.kind === 'plugin') return '/plugins/' + encodeURIComponent(item.plugin);
    return null;
  }
  function go(path, push = true) {
    if (push) history.pushState(null, '', ROOT + path);
    render();
  }
  window.addEventListener('popstate', () => { state.slides = []; render(); });

  // ---------------------------------------------------------------- layout
  function layout() {
    const app = document.getElementById('app');
    app.replaceChildren(
      h('aside', { class: 'sidebar' },
        h('div', { class: 'brand', onclick: () => { state.slides = []; go('/'); } },
          h('div', { class: 'mark', text: initials(boot.title) }),
          h('div', null, boot.title, h('small', { text: 'Plugin dashboard' }))),
        h('nav', { class: 'slides', 'aria-label': 'Navigation' }),
        h('div', { class: 'sidebar-foot' }, h('span', { class: 'health-pill' }), h('span', { text: 'zelavis' }))),
      h('div', { class: 'main' }, h('header', { class: 'topbar' }), h('main', { class: 'content' })),
      h('div', { class: 'toasts', 'aria-live': 'polite' }));
  }

  function navButton(item, route) {
    const href = hrefOf(item);
    const hasItems = item.items && item.items.length > 0;
    const current = route && route.item && route.item.key === item.key
      || (route && route.view === 'marketplace' && item.kind === 'marketplace');
    const icon = item.kind === 'plugin' || item.kind === 'service' || item.kind === 'marketplace'
      ? h('span', { class: 'icon', style: null, text: item.kind === 'marketplace' ? '◆' : initials(item.title) })
      : null;
    if (icon) icon.style.background = item.kind === 'marketplace' ? '#101828' : colorOf(item.plugin || item.key);
    return h('button', {
      class: 'nav-item' + (current ? ' current' : ''),
      'data-key': item.key,
      'data-path': href,
      onclick: () => {
        if (hasItems) state.slides.push(item.key);
        if (href) go(href); else renderSidebar();
      },
    },
    icon,
    h('span', { class: 'label', text: item.title }),
    item.active === false ? h('span', { class: 'dot off', title: 'Installed, not running' }) : null,
    hasItems ? h('span', { class: 'chevron', text: '›' }) : null);
  }

  function renderSidebar() {
    const host = document.querySelector('.slides');
    const route = state.route;
    // Drop slides whose entry disappeared (a plugin was disabled).
    state.slides = state.slides.filter((key) => findBy((item) => item.key === key));
    let slide;
    if (state.slides.length === 0) {
      slide = h('div', { class: 'slide', 'data-slide': 'root' });
      for (const item of state.nav.items) {
        if (item.kind === 'section') {
          const group = h('div', { class: 'group', 'data-section': item.key }, h('div', { class: 'group-title', text: item.title }));
          if (!item.items || item.items.length === 0) group.append(h('div', { class: 'group-empty', text: 'Nothing here yet' }));
          for (const child of item.items || []) group.append(navButton(child, route));
          slide.append(group);
        } else {
          slide.append(navButton(item, route));
        }
      }
    } else {
      const key = state.slides[state.slides.length - 1];
      const { item: parent, trail } = findBy((item) => item.key === key);
      const back = trail.filter((t) => t.kind !== 'section').pop();
      slide = h('div', { class: 'slide enter', 'data-slide': key },
        h('button', { class: 'slide-back', onclick: () => { state.slides.pop(); renderSidebar(); } },
          '‹ ', back ? back.title : 'All'),
        h('div', { class: 'slide-title', text: parent.title }));
      if (hrefOf(parent)) {
        const overview = Object.assign({}, parent, { items: [], title: 'Overview', kind: 'entry' });
        slide.append(navButton(overview, route));
      }
      for (const child of parent.items) slide.append(navButton(child, route));
      requestAnimationFrame(() => slide.classList.remove('enter'));
    }
    host.replaceChildren(slide);
  }

  function renderTopbar() {
    const bar = document.querySelector('.topbar');
    const route = state.route || { title: '' };
    const crumbs = h('div', { class: 'crumbs' });
    if (route.trail) {
      for (const t of route.trail) crumbs.append(h('span', { text: t.title }), h('span', { class: 'sep', text: '/' }));
    }
    crumbs.append(h('b', { class: 'page-title', text: state.title || route.title }));
    bar.replaceChildren(crumbs,
      h('button', { class: 'icon-button', 'data-action': 'theme', onclick: () => setTheme(mode === 'dark' ? 'light' : 'dark') },
        mode === 'dark' ? '☀ Light' : '☾ Dark'));
    const health = document.querySelector('.health-pill');
    if (health && state.config) {
      const failing = state.config.plugins.filter((p) => p.health.setup_failures || p.health.runtime_failures).length;
      health.replaceChildren(h('span', { class: 'dot' + (failing ? ' off' : '') }), failing ? failing + ' need attention' : 'All healthy');
    }
  }

  function render() {
    if (!state.nav) return;
    state.title = null;
    state.route = resolve(currentPath());
    if (state.route.item && !state.slides.length) {
      // Opened directly (a link, a reload, back/forward): show the slide the entry lives in.
      const chain = state.route.trail.concat([state.route.item]);
      state.slides = chain.filter((t) => t.kind !== 'section' && t.items && t.items.length).map((t) => t.key);
    }
    renderSidebar();
    renderTopbar();
    const content = document.querySelector('.content');
    content.classList.remove('framed');
    const route = state.route;
    if (route.view === 'overview') content.replaceChildren(overview());
    else if (route.view === 'marketplace') content.replaceChildren(marketplace());
    else if (route.view === 'item') content.replaceChildren(itemView(route.item, content));
    else content.replaceChildren(h('div', { class: 'page' }, h('div', { class: 'panel empty' }, 'This page does not exist. ', h('a', { href: ROOT + '/', onclick: (e) => { e.preventDefault(); go('/'); } }, 'Back to the overview'))));
    document.title = (route.title ? route.title + ' · ' : '') + boot.title;
  }

  // ---------------------------------------------------------------- views
  function head(title, subtitle, ...actions) {
    return h('div', { class: 'page-head' }, h('div', null, h('h1', { text: title }), subtitle ? h('p', { text: subtitle }) : null), h('div', null, ...actions));
  }
  function outcomePill(outcome) {
    const tone = { activated: 'success', unchanged: '', failed: 'danger', deactivated: 'warning', skipped: 'warning' }[outcome] || '';
    return h('span', { class: 'badge ' + tone, text: outcome });
  }

  function overview() {
    const c = state.config;
    const active = c.plugins.filter((p) => p.active).length;
    const installed = c.plugins.filter((p) => p.status === 'installed').length;
    const failing = c.plugins.filter((p) => p.health.setup_failures || p.health.runtime_failures);
    const kpi = (value, label) => h('div', { class: 'panel kpi' }, h('div', { class: 'value', text: value }), h('div', { class: 'label', text: label }));
    const page = h('div', { class: 'page' },
      head('Overview', 'What this host runs, and how it is doing.'),
      h('div', { class: 'kpis' }, kpi(active, 'Active plugins'), kpi(installed, 'Installed'), kpi(c.services.length, 'Services'), kpi(failing.length, 'Need attention')));
    const rows = c.plugins.map((p) => h('tr', null,
      h('td', null, h('b', { text: p.name }), p.parent ? h('div', { class: 'muted', text: 'extends ' + p.parent }) : null),
      h('td', { class: 'mono', text: p.version }),
      h('td', null, h('span', { class: 'badge ' + (p.active ? 'success' : p.status === 'installed' ? 'danger' : ''), text: p.active ? 'running' : p.status === 'installed' ? 'not running' : 'available' })),
      h('td', { class: 'muted', text: p.source || '—' }),
      h('td', { class: 'mono', text: p.order === null ? '—' : p.order }),
      h('td', { class: 'muted', text: p.health.last_error || '' })));
    page.append(h('div', { class: 'panel section' }, h('div', { class: 'panel-head' }, h('h2', { text: 'Plugins' }), h('span', { class: 'muted', text: c.plugins.length + ' known to this host' })),
      h('table', null, h('thead', null, h('tr', null, ['Plugin', 'Version', 'State', 'Source', 'Order', 'Last error'].map((t) => h('th', { text: t })))), h('tbody', null, rows))));
    const report = h('tbody');
    page.append(h('div', { class: 'panel section' }, h('div', { class: 'panel-head' }, h('h2', { text: 'Last activation' }), h('span', { class: 'muted', text: 'One line per plugin the last change touched' })),
      h('table', null, h('thead', null, h('tr', null, ['Plugin', 'Outcome', 'Registered'].map((t) => h('th', { text: t })))), report)));
    api('/dashboard/report').then(({ data }) => {
      for (const line of data.plugins) {
        const registered = [].concat(line.services || [], line.routes || [], line.hooks || [], line.filters || []);
        const reason = line.reason ? (line.reason.message || line.reason.kind || JSON.stringify(line.reason)) : '';
        report.append(h('tr', null, h('td', null, h('b', { text: line.name }), line.parent ? h('div', { class: 'muted', text: 'child of ' + line.parent[0] }) : null),
          h('td', null, outcomePill(line.outcome), reason ? h('div', { class: 'muted', text: reason }) : null),
          h('td', { class: 'mono muted', text: registered.join(', ') || '—' })));
      }
      if (!data.plugins.length) report.append(h('tr', null, h('td', { colspan: 3, class: 'muted', text: 'Nothing yet.' })));
    }).catch((e) => toast(e.message, 'error'));
    return page;
  }

  const STATE_TEXT = {
    active: 'Enabled', inactive: 'Installed, not running', available: 'Disabled',
    installable: 'Ready to install', unavailable: 'Not available on this host', blocked: 'Blocked by review',
  };

  async function change(label, action) {
    try {
      const { data } = await action();
      await refresh();
      render();
      toast(data && data.message ? data.message : label, data && data.state === 'pending' ? 'warning' : 'success');
    } catch (error) {
      toast(error.message, 'error');
    }
  }

  function setStatus(name, status) {
    return change('Saved', () => api('/dashboard/plugins/' + encodeSegment(name), { method: 'PATCH', body: { status } }));
  }

  function register(specifier, install) {
    return change('Registered', () => api('/dashboard/plugins', { method: 'POST', body: { specifier, install } }));
  }

  function marketplace() {
    const c = state.config;
    const caps = c.controller;
    const cap = (ok, text) => h('li', null, h('span', { class: ok ? 'yes' : 'no', text: ok ? '✓' : '–' }), h('span', { text }));
    const specifier = h('input', { type: 'text', name: 'specifier', placeholder: 'Specifier, e.g. @acme/crm', 'aria-label': 'Specifier' });
    const now = h('input', { type: 'checkbox', name: 'install', checked: true });
    const top = h('div', { class: 'market-top' },
      h('div', { class: 'panel', 'data-panel': 'capabilities' },
        h('div', { class: 'panel-head' }, h('h2', { text: 'This host' }), h('span', { class: 'strategy' }, h('span', { class: 'badge info', text: caps.strategy }))),
        h('div', { class: 'panel-body' },
          h('div', { class: 'muted', text: caps.supports_runtime_install ? 'Installs and toggles apply at run time, without a restart.' : 'Changes are saved and apply on the next restart.' }),
          h('ul', { class: 'caps' }, cap(caps.supports_runtime_install, 'Applies installs at run time'), cap(caps.supports_uploaded_specifiers, 'Accepts uploaded specifiers'), cap(caps.supports_isolated_execution, 'Runs plugins isolated from the host')))),
      h('form', { class: 'panel', 'data-panel': 'register', onsubmit: (e) => { e.preventDefault(); if (specifier.value.trim()) register(specifier.value.trim(), now.checked); } },
        h('div', { class: 'panel-head' }, h('h2', { text: 'Register a plugin' })),
        h('div', { class: 'panel-body' },
          h('div', { class: 'muted', text: 'Any specifier this host\'s loader knows.' }),
          h('div', { class: 'register' }, specifier, h('label', { class: 'check' }, now, 'Activate'), h('button', { class: 'button primary', type: 'submit', text: 'Register' })))));
    const sources = ['all', 'official', 'built-in', 'community', 'premium', 'private'];
    const filters = h('div', { class: 'filters' }, sources.map((s) => h('button', { class: 'filter' + (state.filter === s ? ' on' : ''), onclick: () => { state.filter = s; render(); }, text: s === 'all' ? 'All' : s[0].toUpperCase() + s.slice(1) })));
    const cards = h('div', { class: 'cards' });
    for (const entry of c.catalog.filter((e) => state.filter === 'all' || e.source === state.filter)) cards.append(card(entry));
    return h('div', { class: 'page' }, head('Marketplace', 'Discover, install and switch plugins for this workspace.'), top, filters, cards);
  }

  function card(entry) {
    const icon = h('div', { class: 'card-icon', text: initials(entry.title) });
    icon.style.background = colorOf(entry.name);
    let action;
    if (entry.install === 'active' || entry.install === 'inactive' || entry.install === 'available') {
      const on = entry.install !== 'available';
      action = h('button', { class: 'switch', role: 'switch', 'aria-checked': String(on), 'data-action': 'toggle', onclick: () => setStatus(entry.name, on ? 'available' : 'installed') },
        h('span', { class: 'track' }), on ? 'On' : 'Off');
    } else if (entry.install === 'installable') {
      action = h('button', { class: 'button primary', 'data-action': 'install', onclick: () => register(entry.install_specifier, true), text: 'Install' });
    } else {
      action = h('button', { class: 'button', disabled: true, text: entry.install === 'blocked' ? 'Blocked' : 'Unavailable' });
    }
    const version = entry.versions && entry.versions.length ? 'v' + entry.versions[entry.versions.length - 1] : null;
    const meta = [entry.publisher, version, entry.parent ? 'extends ' + entry.parent : null].filter(Boolean).join(' · ');
    return h('article', { class: 'panel card', 'data-plugin': entry.name, 'data-install': entry.install },
      h('div', { class: 'card-head' }, icon, h('div', null, h('h3', { text: entry.title }), h('div', { class: 'meta', text: meta || entry.name }))),
      h('p', { class: 'summary', text: entry.summary || entry.description || '' }),
      entry.deprecated ? h('div', { class: 'deprecated', text: 'Deprecated: ' + entry.deprecated }) : null,
      h('div', { class: 'badges' }, entry.badges.map((b) => h('span', { class: 'badge ' + (b.tone === 'neutral' ? '' : b.tone), 'data-badge': b.kind, text: b.label }))),
      h('div', { class: 'card-foot' }, h('span', { class: 'state' + (entry.install === 'inactive' ? ' bad' : ''), text: STATE_TEXT[entry.install] }), action));
  }

  function itemView(item, content) {
    const plugin = item.plugin ? pluginInfo(item.plugin) : null;
    if (item.kind === 'plugin' && item.active === false) {
      return h('div', { class: 'page' }, head(item.title, 'This plugin is installed but not running.'),
        h('div', { class: 'panel panel-body' }, h('p', { text: (plugin && plugin.health.last_error) || 'Its setup failed or a dependency is missing.' }),
          h('button', { class: 'button', onclick: () => setStatus(item.plugin, 'available'), text: 'Disable it' })));
    }
    if (item.page) {
      content.classList.add('framed');
      const frame = document.createElement('zelavis-plugin-frame');
      frame.setAttribute('src', item.page.src);
      frame.setAttribute('title', item.page.title);
      const owner = decodeURIComponent(item.page.src.slice((BASE + '/dashboard/plugin-pages/').length).split('/')[0]);
      frame.setAttribute('plugin', owner);
      return frame;
    }
    if (item.items && item.items.length) {
      const list = h('div', { class: 'cards' });
      for (const child of item.items) {
        const href = hrefOf(child);
        list.append(h('button', { class: 'panel card', style: null, onclick: () => { if (child.items && child.items.length) state.slides.push(child.key); if (href) go(href); } },
          h('h3', { text: child.title }), h('p', { class: 'summary', text: child.page ? child.page.title : (child.items ? child.items.length + ' entries' : '') })));
      }
      return h('div', { class: 'page' }, head(item.title, plugin ? plugin.description : null), list);
    }
    if (plugin) return pluginOverview(plugin);
    return h('div', { class: 'page' }, head(item.title, null), h('div', { class: 'panel empty', text: 'Nothing to show here.' }));
  }

  function pluginOverview(plugin) {
    const row = (k, v) => h('tr', null, h('th', { text: k }), h('td', null, v));
    return h('div', { class: 'page' },
      head(plugin.name, plugin.description || 'A plugin without pages of its own.',
        h('button', { class: 'button', 'data-action': 'disable', onclick: () => setStatus(plugin.name, 'available'), text: 'Disable' })),
      h('div', { class: 'panel' }, h('table', null, h('tbody', null,
        row('Version', plugin.version), row('State', plugin.active ? 'running' : plugin.status),
        row('Source', plugin.source || '—'), row('Depends on', plugin.dependencies && plugin.dependencies.length ? plugin.dependencies.join(', ') : '—'),
        row('Health', plugin.health.last_error || 'No failures')))));
  }

  // ---------------------------------------------------------------- the bridge, shell side
  const frames = new Set();

  function pluginPrefix(plugin) { return BASE + '/plugins/' + encodeSegment(plugin); }

  function checkFetchPath(path) {
    if (typeof path !== 'string' || path.length === 0 || path.length > 2048) return 'path must be a non-empty string';
    if (!path.startsWith('/')) return 'path must start with "/"';
    if (path.includes('//') || path.includes('\\')) return 'path must not contain "//" or "\\"';
    if (/(^|\/)\.\.?(\/|\?|#|$)/.test(path)) return 'path must not contain "." or ".." segments';
    if (/%(2e|2f|5c)/i.test(path)) return 'path must not escape ".", "/" or "\\"';
    if (/[\u0000-\u0020\u007f#]/.test(path)) return 'path must not contain spaces, controls or "#"';
    return null;
  }

  const METHODS = {
    'nav.go': (frame, p) => {
      if (!p || typeof p.path !== 'string') throw bridgeError('invalid_params', 'nav.go needs {path}');
      const target = resolve(p.path);
      if (target.view === 'missing') throw bridgeError('not_found', 'no dashboard path ' + p.path.slice(0, 80));
      if (target.item && target.trail) {
        const keys = target.trail.filter((t) => t.kind !== 'section' && t.items && t.items.length).map((t) => t.key);
        state.slides = keys;
      }
      setTimeout(() => go(p.path), 30); // after the reply is on its way
      return {};
    },
    'nav.setTitle': (frame, p) => {
      if (!p || typeof p.title !== 'string') throw bridgeError('invalid_params', 'nav.setTitle needs {title}');
      state.title = p.title.slice(0, 120);
      renderTopbar();
      return {};
    },
    'toast.show': (frame, p) => {
      if (!p || typeof p.message !== 'string') throw bridgeError('invalid_params', 'toast.show needs {message}');
      const kind = ['info', 'success', 'warning', 'error'].includes(p.kind) ? p.kind : 'info';
      toast(p.message.slice(0, 300), kind, frame.getAttribute('title'));
      return {};
    },
    'theme.get': () => theme(),
    'frame.resize': (frame, p) => {
      if (!p || !Number.isInteger(p.height) || p.height < 0) throw bridgeError('invalid_params', 'frame.resize needs {height} in pixels');
      const height = Math.max(120, Math.min(20000, p.height));
      frame.resize(height);
      return { height };
    },
    'api.fetch': async (frame, p) => {
      if (!p) throw bridgeError('invalid_params', 'api.fetch needs {path}');
      const problem = checkFetchPath(p.path);
      if (problem) throw bridgeError('forbidden', problem);
      const prefix = pluginPrefix(frame.getAttribute('plugin'));
      const url = new URL(prefix + p.path, location.origin);
      if (url.origin !== location.origin || !(url.pathname === prefix || url.pathname.startsWith(prefix + '/'))) {
        throw bridgeError('forbidden', 'api.fetch is limited to ' + prefix);
      }
      const method = (p.method || 'GET').toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw bridgeError('invalid_params', 'method not allowed');
      const headers = {};
      for (const [k, v] of Object.entries(p.headers || {})) {
        if (['content-type', 'accept'].includes(k.toLowerCase()) && typeof v === 'string') headers[k.toLowerCase()] = v;
      }
      if (p.body !== undefined && p.body !== null && (typeof p.body !== 'string' || p.body.length > 65536)) throw bridgeError('invalid_params', 'body must be a string of at most 64 KiB');
      let response;
      try {
        response = await fetch(url, { method, headers, body: p.body === undefined || p.body === null ? undefined : p.body, credentials: 'same-origin', redirect: 'error' });
      } catch (error) {
        throw bridgeError('failed', 'fetch failed: ' + error.message);
      }
      const body = (await response.text()).slice(0, 1 << 20);
      return { status: response.status, headers: { 'content-type': response.headers.get('content-type') || '' }, body };
    },
  };

  function bridgeError(code, message) { const e = new Error(message); e.code = code; return e; }

  function validId(id) { return (typeof id === 'number' && Number.isInteger(id) && id >= 0) || (typeof id === 'string' && id.length <= 64); }

  async function onPortMessage(frame, event) {
    const msg = event.data;
    const id = msg && validId(msg.id) ? msg.id : null;
    const reply = (body) => frame.send(Object.assign({ v: V, id }, body));
    if (!msg || typeof msg !== 'object' || msg.v !== V || id === null || typeof msg.method !== 'string') {
      record('bad_request', { plugin: frame.getAttribute('plugin'), message: msg });
      return reply({ error: { code: 'bad_request', message: 'expected {v: "' + V + '", id, method, params}' } });
    }
    const handler = Object.prototype.hasOwnProperty.call(METHODS, msg.method) ? METHODS[msg.method] : null;
    if (!handler) {
      record('unknown_method', { plugin: frame.getAttribute('plugin'), method: String(msg.method).slice(0, 80) });
      return reply({ error: { code: 'unknown_method', message: 'unknown method ' + String(msg.method).slice(0, 80) } });
    }
    try {
      reply({ result: await handler(frame, msg.params) });
    } catch (error) {
      const code = error.code || 'failed';
      if (code === 'forbidden') record('forbidden', { plugin: frame.getAttribute('plugin'), method: msg.method, message: error.message });
      reply({ error: { code, message: error.message } });
    }
  }

  window.addEventListener('message', (event) => {
    let frame = null;
    for (const f of frames) if (f.window() === event.source && event.source) frame = f;
    if (!frame) {
      record('forged', { reason: 'message from a window the shell did not open', origin: event.origin });
      return;
    }
    const msg = event.data;
    if (!msg || msg.v !== V || msg.type !== 'hello' || typeof msg.nonce !== 'string') {
      record('forged', { reason: 'not a hello', plugin: frame.getAttribute('plugin') });
      return;
    }
    if (event.origin !== 'null' && event.origin !== PAGE_ORIGIN) {
      record('forged', { reason: 'hello from a non-isolated origin', origin: event.origin });
      return;
    }
    frame.hello(msg.nonce, event.source);
  });

  function randomNonce() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  class PluginFrame extends HTMLElement {
    connectedCallback() {
      frames.add(this);
      this.overlay = h('div', { class: 'frame-overlay' });
      this.iframe = h('iframe', { sandbox: SANDBOX, referrerpolicy: 'no-referrer', title: this.getAttribute('title') || 'Plugin page' });
      this.replaceChildren(this.iframe, this.overlay);
      this.load();
    }
    disconnectedCallback() {
      frames.delete(this);
      if (this.port) this.port.close();
      clearTimeout(this.timer);
    }
    window() { return this.iframe ? this.iframe.contentWindow : null; }
    setState(next, detail) {
      this.dataset.state = next;
      if (next === 'loading') {
        this.overlay.hidden = false;
        this.overlay.replaceChildren(h('div', { class: 'spinner', role: 'progressbar', 'aria-label': 'Loading' }));
      } else if (next === 'error') {
        this.overlay.hidden = false;
        this.overlay.replaceChildren(h('div', { class: 'frame-error' }, h('div', { class: 'glyph', text: '!' }),
          h('h2', { text: 'This page could not be loaded' }), h('p', { text: detail }),
          h('button', { class: 'button', 'data-action': 'retry', onclick: () => this.load(), text: 'Retry' })));
      } else {
        this.overlay.hidden = true;
      }
    }
    async load() {
      if (this.port) { this.port.close(); this.port = null; }
      this.nonce = randomNonce();
      this.used = false;
      this.setState('loading');
      const src = PAGE_ORIGIN + this.getAttribute('src');
      try {
        // Asked of the dashboard's own origin (the same router serves the pages), so a distinct page origin
        // needs no CORS.
        const check = await fetch(this.getAttribute('src'), { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' });
        if (!check.ok) {
          this.setState('error', check.status === 404 ? 'The page is not available: its plugin is not running, or it has no such page.' : 'The server answered ' + check.status + '.');
          return;
        }
      } catch (_) {
        this.setState('error', 'The dashboard could not reach the server.');
        return;
      }
      clearTimeout(this.timer);
      this.timer = setTimeout(() => { if (this.dataset.state === 'loading') this.setState('error', 'The page took too long to load.'); }, 15000);
      this.iframe.onload = () => { clearTimeout(this.timer); if (this.dataset.state === 'loading') this.setState('ready'); };
      this.iframe.src = src + '#zelavis-bridge=' + this.nonce;
    }
    hello(nonce, source) {
      if (this.used || nonce !== this.nonce) {
        record('forged', { reason: this.used ? 'nonce used twice' : 'wrong nonce', plugin: this.getAttribute('plugin') });
        source.postMessage({ v: V, id: null, error: { code: 'forbidden', message: 'bad or used nonce' } }, '*');
        return;
      }
      this.used = true;
      const channel = new MessageChannel();
      this.port = channel.port1;
      this.port.onmessage = (event) => onPortMessage(this, event);
      source.postMessage({ v: V, type: 'welcome', theme: theme() }, '*', [channel.port2]);
      this.dataset.bridge = 'open';
    }
    send(message) { if (this.port) this.port.postMessage(message); }
    resize(height) {
      this.iframe.style.flex = 'none';
      this.iframe.style.height = height + 'px';
      this.closest('.content').classList.remove('framed');
    }
  }
  customElements.define('zelavis-plugin-frame', PluginFrame);

  // ---------------------------------------------------------------- start
  layout();
  refresh().then(render).catch((error) => {
    document.querySelector('.content').replaceChildren(h('div', { class: 'page' }, h('div', { class: 'panel empty', text: 'The dashboard could not load: ' + error.message })));
  });
})();
