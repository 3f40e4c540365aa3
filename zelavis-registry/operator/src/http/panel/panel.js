// Zelavis super-admin Plugins panel: token, catalog, health and deprecation banners, tenant picker, a tenant's
// plugins with enable / disable and a pin selector, and Publishing: the signed-bundle upload and each rollout's
// wizard (steps, smoke test figures, canary, judged windows, actions). Vanilla JS, no build step. Every text from
// the server is set with textContent, never parsed as HTML.
(() => {
  'use strict';

  const boot = JSON.parse(document.getElementById('zelavis-super-admin-boot').textContent);
  const BASE = boot.base || '';
  const TOKEN_KEY = 'zelavis-super-admin-token';
  const TENANT_KEY = 'zelavis-super-admin-tenant';

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    catalog: [],
    tenants: [],
    health: [],
    audit: null,
    tenant: sessionStorage.getItem(TENANT_KEY) || '',
    plugins: [],
    banners: [],
    errors: {},
    busy: {},
    loading: false,
    rollouts: [],
    rolloutErrors: {},
    rolloutBusy: {},
    canaryPick: {},
    uploading: false,
  };
  window.zelavisSuperAdmin = { state };

  const $ = (selector) => document.querySelector(selector);

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

  // One path segment: `@acme/reports` is sent as `%40acme%2Freports`.
  const seg = (text) => encodeURIComponent(text);

  async function api(path, options = {}) {
    const headers = { accept: 'application/json', authorization: 'Bearer ' + state.token };
    const init = { method: options.method || 'GET', headers, credentials: 'omit', cache: 'no-store' };
    if (options.form !== undefined) {
      // multipart/form-data: the browser writes the content type with its boundary.
      init.body = options.form;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    let response;
    try {
      response = await fetch(BASE + path, init);
    } catch (error) {
      throw Object.assign(new Error('the server could not be reached: ' + error.message), { code: 'unreachable', status: 0 });
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = { message: text }; }
    if (!response.ok) {
      const error = new Error((data && data.message) || response.statusText);
      error.code = (data && data.error) || 'http_' + response.status;
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  // What the last change in the tenant panel did, in a line under its head (never over the table).
  let statusTimer = null;
  function status(message, kind = 'success') {
    const line = $('#tenant-status');
    clearTimeout(statusTimer);
    line.hidden = !message;
    line.className = 'status-line' + (kind === 'error' ? ' error' : '');
    line.textContent = message || '';
    if (message) statusTimer = setTimeout(() => { line.hidden = true; }, 8000);
  }

  const SOURCE_TONE = { built_in: 'info', premium: 'premium', private: 'outline' };
  function sourceBadge(source, badge) {
    return h('span', { class: 'badge ' + (SOURCE_TONE[source] || ''), 'data-badge': source, text: badge || source });
  }

  function pluginCell(id, title) {
    return h('td', null,
      h('span', { class: 'plugin-name', text: title || id }),
      title && title !== id ? h('span', { class: 'plugin-id mono', text: id }) : null);
  }

  function catalogRow(id) {
    return state.catalog.find((row) => row.id === id) || null;
  }

  // ---------------------------------------------------------------- banners
  function banner(tone, glyph, title, detail, attrs = {}) {
    return h('div', Object.assign({ class: 'banner ' + tone, role: tone === 'danger' ? 'alert' : 'status' }, attrs),
      h('span', { class: 'glyph', 'aria-hidden': 'true', text: glyph }),
      h('div', { class: 'text' }, h('div', { class: 'title', text: title }), detail ? h('div', { class: 'detail', text: detail }) : null));
  }

  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

  function renderBanners() {
    const items = [];
    for (const s of state.health) {
      const failures = [];
      if (s.setup_failures) failures.push(plural(s.setup_failures, 'setup failure'));
      if (s.runtime_failures) failures.push(plural(s.runtime_failures, 'runtime failure'));
      const where = s.affected_tenants.length ? ' in ' + s.affected_tenants.join(', ') : '';
      const title = s.plugin + ' is failing: ' + failures.join(' and ') + where;
      items.push(banner('danger', '!', title, s.last_error ? 'Last error: ' + s.last_error : '', { 'data-health': s.plugin }));
    }
    for (const row of state.catalog) {
      if (row.killed) {
        items.push(banner('danger', '⏻', row.id + ' is switched off for every tenant', 'Kill switch: ' + row.killed.reason + ' (by ' + row.killed.by + ')', { 'data-killed': row.id }));
      }
      if (row.deprecated) {
        const d = row.deprecated;
        const parts = [d.message];
        if (d.replacement) parts.push('Move to ' + d.replacement + '.');
        parts.push((row.tenants_using === 1 ? '1 tenant still uses it' : row.tenants_using + ' tenants still use it') + (d.disallow_new_enable ? '; no new tenant may enable it.' : '.'));
        items.push(banner('warning', '!', row.id + ' is deprecated', parts.join(' '), { 'data-deprecated': row.id }));
      }
    }
    $('#banners').replaceChildren(...items);
  }

  function renderPills() {
    const health = $('#health-pill');
    health.hidden = false;
    health.className = 'pill ' + (state.health.length ? 'bad' : 'ok');
    health.textContent = state.health.length ? plural(state.health.length, 'plugin') + ' failing' : 'All plugins healthy';
    const audit = $('#audit-pill');
    audit.hidden = !state.audit;
    if (state.audit) {
      audit.className = 'pill ' + (state.audit.valid ? 'ok' : 'bad');
      audit.textContent = state.audit.valid ? 'Audit chain verified · ' + plural(state.audit.events, 'event') : 'Audit chain broken at #' + state.audit.seq;
      audit.title = state.audit.valid ? 'head ' + state.audit.head : state.audit.message;
    }
  }

  // ---------------------------------------------------------------- catalog
  function stateBadge(row) {
    const failing = state.health.find((s) => s.plugin === row.id);
    let main;
    if (row.killed) main = h('span', { class: 'badge danger', 'data-state': 'killed', title: row.killed.reason, text: 'Killed' });
    else if (row.deprecated) main = h('span', { class: 'badge warning', 'data-state': 'deprecated', title: row.deprecated.message, text: 'Deprecated' });
    else main = h('span', { class: 'badge success', 'data-state': 'active', text: 'Active' });
    return h('div', { class: 'badges' }, main,
      failing ? h('span', { class: 'badge danger', 'data-health': 'failing', title: failing.last_error || '', text: 'Failing' }) : null);
  }

  function renderCatalog() {
    const body = $('#catalog tbody');
    const rows = state.catalog.map((row) => h('tr', { 'data-plugin': row.id },
      pluginCell(row.id, row.title),
      h('td', null, sourceBadge(row.source, row.badge)),
      h('td', { class: 'mono', 'data-field': 'version', text: row.version || '—' }),
      h('td', { 'data-field': 'tier', text: row.tier_minimum || 'Any' }),
      h('td', { 'data-field': 'niches' }, row.niches.length
        ? h('div', { class: 'badges' }, row.niches.map((n) => h('span', { class: 'badge', text: n })))
        : h('span', { class: 'faint', text: 'All' })),
      h('td', { class: 'num', 'data-field': 'tenants-using', text: String(row.tenants_using) }),
      h('td', null, stateBadge(row))));
    if (!rows.length) rows.push(h('tr', null, h('td', { colspan: 7, class: 'empty-row', text: 'The catalog is empty.' })));
    body.replaceChildren(...rows);
    $('#catalog-count').textContent = plural(state.catalog.length, 'plugin');
  }

  // ---------------------------------------------------------------- tenant
  function renderPicker() {
    const picker = $('#tenant-picker');
    const options = [h('option', { value: '', text: state.tenants.length ? 'Pick a tenant…' : 'No tenants yet' })];
    for (const t of state.tenants) {
      options.push(h('option', { value: t.id, text: t.id + ' · ' + t.tier + ' · ' + t.niche }));
    }
    picker.replaceChildren(...options);
    picker.value = state.tenants.some((t) => t.id === state.tenant) ? state.tenant : '';
  }

  function renderTenantMeta() {
    const t = state.tenants.find((x) => x.id === state.tenant);
    const meta = $('#tenant-meta');
    if (!t) { meta.replaceChildren(); return; }
    const license = t.license
      ? h('span', { class: 'badge success', 'data-field': 'license', text: 'Licensed: ' + plural(t.license.licensed_plugins.length, 'plugin') })
      : h('span', { class: 'badge danger', 'data-field': 'license', title: t.license_error || '', text: 'No valid license' });
    meta.replaceChildren(
      h('span', { class: 'badge outline', 'data-field': 'tier', text: 'Tier: ' + t.tier }),
      h('span', { class: 'badge outline', 'data-field': 'niche', text: 'Niche: ' + t.niche }),
      t.canary ? h('span', { class: 'badge info', 'data-field': 'canary', text: 'Canary' }) : null,
      license);
  }

  function renderTenantBanners() {
    const items = state.banners.map((b) => banner('warning', '!', state.tenant + ' uses ' + b.plugin + ', which is deprecated',
      b.message + (b.replacement ? ' Move to ' + b.replacement + '.' : ''), { 'data-banner': b.plugin }));
    $('#tenant-banners').replaceChildren(...items);
  }

  function statusBadge(p) {
    if (p.killed) return h('span', { class: 'badge danger', 'data-state': 'killed', text: 'Killed' });
    if (!p.enabled) return h('span', { class: 'badge', 'data-state': 'disabled', text: 'Disabled' });
    const failing = state.health.find((s) => s.plugin === p.plugin && s.affected_tenants.includes(state.tenant));
    return h('div', { class: 'badges' },
      h('span', { class: 'badge success', 'data-state': 'enabled', text: 'Enabled' }),
      failing ? h('span', { class: 'badge danger', 'data-health': 'failing', title: failing.last_error || '', text: 'Failing' }) : null);
  }

  function pinSelect(p) {
    const row = catalogRow(p.plugin);
    const versions = row ? row.supports_versions.slice() : [];
    if (p.pin && !versions.includes(p.pin)) versions.push(p.pin);
    const latest = row && row.version ? 'Latest (' + row.version + ')' : 'Latest';
    const select = h('select', { 'data-action': 'pin', 'aria-label': 'Pin ' + p.plugin, disabled: state.busy[p.plugin] || undefined },
      h('option', { value: '', text: latest }),
      versions.map((v) => h('option', { value: v, text: 'Pin ' + v })));
    select.value = p.pin || '';
    select.addEventListener('change', () => pin(p.plugin, select.value));
    return select;
  }

  function renderTenantPlugins() {
    const body = $('#tenant-plugins tbody');
    if (!state.tenant) {
      body.replaceChildren(h('tr', null, h('td', { colspan: 6, class: 'empty-row', text: 'Pick a tenant to see and change its plugins.' })));
      return;
    }
    const rows = [];
    for (const p of state.plugins) {
      const error = state.errors[p.plugin];
      const busy = !!state.busy[p.plugin];
      const action = p.enabled
        ? h('button', { class: 'button small', type: 'button', 'data-action': 'disable', disabled: busy || undefined, text: busy ? 'Working…' : 'Disable', onclick: () => grant(p.plugin, 'disable') })
        : h('button', { class: 'button small primary', type: 'button', 'data-action': 'enable', disabled: busy || p.killed || undefined, text: busy ? 'Working…' : 'Enable', onclick: () => grant(p.plugin, 'enable') });
      rows.push(h('tr', { 'data-plugin': p.plugin, class: [error ? 'has-error' : '', busy ? 'busy' : ''].join(' ').trim() || null },
        pluginCell(p.plugin, p.title),
        h('td', null, sourceBadge(p.source, (catalogRow(p.plugin) || {}).badge)),
        h('td', { 'data-field': 'status' }, statusBadge(p)),
        h('td', { class: 'mono' + (p.enabled ? '' : ' faint'), 'data-field': 'version', title: p.enabled ? null : 'the version it would run if enabled', text: p.version || '—' }),
        h('td', null, pinSelect(p)),
        h('td', { class: 'actions' }, action)));
      if (error) {
        rows.push(h('tr', { class: 'error-row', 'data-error-for': p.plugin },
          h('td', { colspan: 6 }, h('div', { class: 'row-error', role: 'alert', 'data-code': error.code },
            h('span', { class: 'code', text: error.code }), h('span', { class: 'message', text: error.message })))));
      }
    }
    if (!rows.length) rows.push(h('tr', null, h('td', { colspan: 6, class: 'empty-row', text: 'The catalog is empty.' })));
    body.replaceChildren(...rows);
  }

  function renderTenant() {
    renderPicker();
    renderTenantMeta();
    renderTenantBanners();
    renderTenantPlugins();
  }

  // ---------------------------------------------------------------- publishing
  const STEPS = [
    ['uploaded', 'Uploaded'], ['verified', 'Verified'], ['smoke_tested', 'Smoke tested'], ['canary', 'Canary'], ['promoted', 'Promoted'],
  ];
  const STATE_LABEL = {
    uploaded: 'Uploaded', verified: 'Verified', smoke_tested: 'Smoke tested', canary: 'Canary', promoted: 'Promoted',
    rolled_back: 'Rolled back', paused: 'Paused', failed: 'Failed',
  };
  const STATE_TONE = {
    uploaded: 'outline', verified: 'info', smoke_tested: 'info', canary: 'premium', promoted: 'success',
    rolled_back: 'danger', paused: 'warning', failed: 'danger',
  };
  const VERDICT_TONE = { pass: 'success', breach: 'danger', inconclusive: 'warning' };
  const FINAL = ['promoted', 'rolled_back', 'failed'];

  const rolloutKey = (r) => r.plugin + '@' + r.version;
  const isPublisher = (t) => !!(t.license && (t.license.features || []).includes('marketplace_publisher'));

  function when(text) {
    if (!text) return '—';
    const d = new Date(text);
    if (Number.isNaN(d.getTime())) return text;
    return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }
  function shortTime(text) {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(11, 16);
  }
  function clockTime(text) {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(11, 19);
  }
  function addMillis(text, ms) {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? null : new Date(d.getTime() + ms).toISOString();
  }
  function duration(ms) {
    if (ms === 0) return 'none';
    const s = ms / 1000;
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.round(s / 60) + ' min';
    return Math.round(s / 360) / 10 + ' h';
  }
  function micros(us) {
    if (us < 1000) return us + ' µs';
    if (us < 1e6) return (us / 1000).toFixed(1) + ' ms';
    return (us / 1e6).toFixed(2) + ' s';
  }
  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(n % 1024 ? 1 : 0) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }
  const count = (n) => Number(n).toLocaleString('en-US');
  function rate(c) {
    if (!c.requests) return '—';
    return (100 * c.errors / c.requests).toFixed(2) + ' %';
  }

  function renderUploadTenants() {
    const select = $('#upload-tenant');
    const previous = select.value;
    const publishers = state.tenants.filter(isPublisher);
    const others = state.tenants.filter((t) => !isPublisher(t));
    const options = [];
    if (!state.tenants.length) options.push(h('option', { value: '', text: 'No tenants yet' }));
    for (const t of publishers) options.push(h('option', { value: t.id, text: t.id + ' · publisher' }));
    for (const t of others) options.push(h('option', { value: t.id, text: t.id + ' · not a publisher' }));
    select.replaceChildren(...options);
    if (state.tenants.some((t) => t.id === previous)) select.value = previous;
    else if (publishers.length) select.value = publishers[0].id;
  }

  let publishTimer = null;
  function publishStatus(message, kind = 'success', code = null) {
    const line = $('#publish-status');
    clearTimeout(publishTimer);
    line.hidden = !message;
    line.className = 'status-line' + (kind === 'error' ? ' error' : '');
    if (code) line.dataset.code = code; else delete line.dataset.code;
    line.replaceChildren();
    if (code) line.append(h('span', { class: 'code', text: code }));
    if (message) line.append(h('span', { text: message }));
    if (message && kind !== 'error') publishTimer = setTimeout(() => { line.hidden = true; }, 10000);
  }

  // Uploaded, Verified and Smoke tested are milestones (done once reached; the step after the last one is next);
  // Canary is a phase (current while it runs); Paused, Rolled back and Failed mark the step where they stopped.
  function stepper(r) {
    const reached = new Set(r.history.map((t) => t.to));
    const at = {};
    for (const t of r.history) at[t.to] = t.at;
    let last = -1;
    STEPS.forEach(([id], i) => { if (reached.has(id)) last = i; });
    const stopped = r.state === 'failed' || r.state === 'rolled_back';
    const held = r.state === 'canary' || r.paused_from === 'canary' ? 3 : last + 1;
    const items = STEPS.map(([id, label], i) => {
      let cls = 'todo';
      let note = '';
      let glyph = String(i + 1);
      if (reached.has(id)) { cls = 'done'; glyph = '✓'; note = shortTime(at[id]); }
      if (stopped && i === last + 1) {
        cls = 'stopped';
        glyph = '✕';
        label = STATE_LABEL[r.state];
        note = shortTime(at[r.state]);
      } else if (stopped && i > last + 1) {
        cls = 'skipped';
      } else if (r.state === 'paused' && i === held) {
        cls = 'paused';
        glyph = '❚❚';
        note = 'Paused ' + shortTime(at.paused);
      } else if (r.state === 'canary' && id === 'canary') {
        cls = 'current';
        glyph = String(i + 1);
        note = 'Running since ' + shortTime(at.canary);
      } else if (['uploaded', 'verified', 'smoke_tested'].includes(r.state) && i === last + 1) {
        cls = 'next';
        note = r.state === 'smoke_tested' ? 'Pick canary tenants' : 'Pending';
      }
      return h('li', { class: 'step ' + cls, 'data-step': id, 'data-step-state': cls },
        h('span', { class: 'dot', 'aria-hidden': 'true', text: glyph }),
        h('span', { class: 'step-text' }, h('span', { class: 'label', text: label }), note ? h('span', { class: 'note', text: note }) : null));
    });
    return h('ol', { class: 'steps', 'aria-label': 'Rollout steps' }, items);
  }

  function figure(label, value, field) {
    return h('div', { class: 'figure', 'data-figure': field }, h('span', { class: 'value', text: value }), h('span', { class: 'label', text: label }));
  }

  function smokeBlock(r) {
    const s = r.smoke;
    const block = h('div', { class: 'block', 'data-block': 'smoke' }, h('h3', { text: 'Smoke test' }));
    if (!s) {
      block.append(h('p', { class: 'faint', text: r.state === 'failed' ? 'Not run: the bundle was refused before it.' : 'Not run yet.' }));
      return block;
    }
    block.append(
      h('div', { class: 'figures' },
        figure('Time', micros(s.elapsed_micros), 'time'),
        figure('Fuel', count(s.fuel_total), 'fuel'),
        figure('Max fuel / call', count(s.fuel_max), 'fuel-max'),
        figure('Memory peak', bytes(s.memory_peak_bytes), 'memory'),
        figure('Migrations', String(s.migrations), 'migrations')),
      h('ul', { class: 'checks' },
        s.checks.map((c) => h('li', { class: 'ok', 'data-check': c }, h('span', { class: 'mark', 'aria-hidden': 'true', text: '✓' }), c)),
        s.failures.map((f) => h('li', { class: 'bad', 'data-failure': f }, h('span', { class: 'mark', 'aria-hidden': 'true', text: '✕' }), f))));
    return block;
  }

  function canaryBlock(r) {
    const key = rolloutKey(r);
    const block = h('div', { class: 'block', 'data-block': 'canary' }, h('h3', { text: 'Canary' }));
    if (r.canary.length) {
      block.append(h('div', { class: 'badges', 'data-field': 'canary-tenants' },
        r.canary.map((c) => h('span', { class: 'badge premium', 'data-canary': c.tenant, title: c.previous_pin ? 'pinned to ' + c.previous_pin + ' before' : 'no pin before',
          text: c.tenant }))));
      const ends = r.canary_started_at ? addMillis(r.canary_started_at, r.wait) : null;
      block.append(h('dl', { class: 'facts' },
        h('dt', { text: 'Started' }), h('dd', { text: when(r.canary_started_at) }),
        h('dt', { text: 'Wait' }), h('dd', { text: duration(r.wait) }),
        h('dt', { text: 'Promotable from' }), h('dd', { 'data-field': 'wait-ends', text: ends ? when(ends) : '—' }),
        h('dt', { text: 'Judge' }), h('dd', { text: 'windows of ' + duration(r.judge.window) + ', breach above ' + r.judge.ratio + '× the baseline and ' + (100 * r.judge.floor).toFixed(1) + ' %, ' + r.judge.min_requests + ' requests minimum, ' + r.judge.breaches_to_rollback + ' in a row roll back' })));
      return block;
    }
    if (r.state !== 'smoke_tested') {
      block.append(h('p', { class: 'faint', text: FINAL.includes(r.state) || r.state === 'paused' ? 'No canary was started.' : 'Starts once the smoke test passed.' }));
      return block;
    }
    const canaries = state.tenants.filter((t) => t.canary);
    const picked = state.canaryPick[key] || (state.canaryPick[key] = new Set());
    if (!canaries.length) {
      block.append(h('p', { class: 'faint', text: 'No tenant is marked canary.' }));
      return block;
    }
    block.append(h('p', { class: 'muted', text: 'Pick the canary tenants: they are pinned to ' + r.version + ' while the others stay where they are.' }));
    block.append(h('div', { class: 'picks' }, canaries.map((t) => {
      const box = h('input', { type: 'checkbox', value: t.id, 'data-pick': t.id, checked: picked.has(t.id) || undefined, disabled: state.rolloutBusy[key] || undefined });
      box.addEventListener('change', () => { if (box.checked) picked.add(t.id); else picked.delete(t.id); });
      return h('label', { class: 'pick' }, box, h('span', { text: t.id }), h('span', { class: 'faint', text: t.tier + ' · ' + t.niche }));
    })));
    return block;
  }

  function windowsBlock(r) {
    if (!r.canary.length && !r.windows.length) return null;
    const block = h('div', { class: 'block wide', 'data-block': 'windows' }, h('h3', { text: 'Judged windows' }));
    const next = r.state === 'canary' && r.canary_started_at
      ? addMillis(r.windows.length ? r.windows[r.windows.length - 1].to : r.canary_started_at, r.judge.window) : null;
    if (!r.windows.length) {
      block.append(h('p', { class: 'faint', text: next ? 'No window judged yet; the first ends at ' + when(next) + '.' : 'No window was judged.' }));
      return block;
    }
    const rows = r.windows.map((w, i) => h('tr', { 'data-window': String(i) },
      h('td', { class: 'mono', title: when(w.from) + ' → ' + when(w.to), text: clockTime(w.from) + ' → ' + clockTime(w.to) }),
      h('td', { class: 'num', text: count(w.counts.canary.errors) + ' / ' + count(w.counts.canary.requests) }),
      h('td', { class: 'num', 'data-field': 'canary-rate', text: rate(w.counts.canary) }),
      h('td', { class: 'num', text: count(w.counts.baseline.errors) + ' / ' + count(w.counts.baseline.requests) }),
      h('td', { class: 'num', 'data-field': 'baseline-rate', text: rate(w.counts.baseline) }),
      h('td', null, h('span', { class: 'badge ' + (VERDICT_TONE[w.verdict] || ''), 'data-verdict': w.verdict, text: w.verdict }))));
    block.append(h('div', { class: 'table-wrap' }, h('table', { class: 'windows' },
      h('thead', null, h('tr', null, h('th', { text: 'Window' }), h('th', { class: 'num', text: 'Canary errors' }), h('th', { class: 'num', text: 'Canary rate' }),
        h('th', { class: 'num', text: 'Baseline errors' }), h('th', { class: 'num', text: 'Baseline rate' }), h('th', { text: 'Verdict' }))),
      h('tbody', null, rows))));
    if (next) block.append(h('p', { class: 'faint', text: 'Next window ends at ' + when(next) + '.' }));
    return block;
  }

  function historyBlock(r) {
    return h('details', { class: 'history' },
      h('summary', { text: 'History · ' + plural(r.history.length, 'transition') }),
      h('ol', null, r.history.map((t) => h('li', null,
        h('span', { class: 'mono faint', text: when(t.at) }),
        h('span', { class: 'badge ' + (STATE_TONE[t.to] || ''), text: STATE_LABEL[t.to] || t.to }),
        h('span', { text: t.reason }),
        h('span', { class: 'faint', text: 'by ' + t.actor })))));
  }

  function actionButton(r, action, label, tone) {
    const key = rolloutKey(r);
    const busy = state.rolloutBusy[key];
    return h('button', { class: 'button small' + (tone ? ' ' + tone : ''), type: 'button', 'data-action': action, disabled: busy || undefined,
      text: busy === action ? 'Working…' : label, onclick: () => rolloutAction(r, action) });
  }

  function actionsBar(r) {
    const key = rolloutKey(r);
    const buttons = [];
    switch (r.state) {
      case 'uploaded':
        buttons.push(actionButton(r, 'resume-rollout', 'Continue', 'primary'));
        break;
      case 'verified':
        buttons.push(actionButton(r, 'resume-rollout', 'Continue', 'primary'), actionButton(r, 'rollback', 'Roll back', 'danger'));
        break;
      case 'smoke_tested':
        buttons.push(actionButton(r, 'canary', 'Start canary', 'primary'), actionButton(r, 'pause', 'Pause'), actionButton(r, 'rollback', 'Roll back', 'danger'));
        break;
      case 'canary':
        buttons.push(actionButton(r, 'promote', 'Promote', 'primary'), actionButton(r, 'judge', 'Judge windows'), actionButton(r, 'pause', 'Pause'),
          actionButton(r, 'rollback', 'Roll back', 'danger'));
        break;
      case 'paused':
        buttons.push(actionButton(r, 'resume', 'Resume', 'primary'), actionButton(r, 'rollback', 'Roll back', 'danger'));
        break;
      default: {
        const last = r.history[r.history.length - 1];
        return h('div', { class: 'rollout-actions final', 'data-field': 'outcome' },
          h('span', { class: 'badge ' + (STATE_TONE[r.state] || ''), text: STATE_LABEL[r.state] }),
          last ? h('span', { class: 'outcome', text: last.reason }) : null,
          last ? h('span', { class: 'faint', text: 'by ' + last.actor + ', ' + when(last.at) }) : null);
      }
    }
    const needsReason = ['promote', 'pause', 'resume', 'rollback'].some((a) => buttons.some((b) => b.dataset.action === a));
    const reason = needsReason ? h('input', { type: 'text', class: 'reason', 'data-field': 'reason', placeholder: 'Reason (kept in the audit log)',
      'aria-label': 'Reason for ' + key, maxlength: 500, disabled: state.rolloutBusy[key] || undefined }) : null;
    if (reason) reason.value = (state.reasons && state.reasons[key]) || '';
    if (reason) reason.addEventListener('input', () => { (state.reasons || (state.reasons = {}))[key] = reason.value; });
    return h('div', { class: 'rollout-actions' }, reason, h('div', { class: 'buttons' }, buttons));
  }

  function rolloutCard(r) {
    const key = rolloutKey(r);
    const error = state.rolloutErrors[key];
    const failure = r.state === 'failed' ? r.history[r.history.length - 1] : null;
    return h('article', { class: 'rollout' + (state.rolloutBusy[key] ? ' busy' : ''), 'data-rollout': key, 'data-state': r.state },
      h('div', { class: 'rollout-head' },
        h('div', { class: 'title' },
          h('span', { class: 'plugin-name', text: r.plugin }),
          h('span', { class: 'mono version', text: r.version }),
          h('span', { class: 'badge ' + (STATE_TONE[r.state] || ''), 'data-field': 'state', text: STATE_LABEL[r.state] || r.state }),
          r.backport ? h('span', { class: 'badge outline', text: 'Backport' }) : null),
        h('div', { class: 'muted meta', text: 'from ' + r.publisher_tenant + ' · ' + r.publisher + ' · key ' + r.kid + ' · uploaded ' + when(r.created_at) })),
      stepper(r),
      failure ? h('div', { class: 'row-error', 'data-field': 'failure' }, h('span', { class: 'code', text: 'failed' }), h('span', { class: 'message', text: failure.reason })) : null,
      h('div', { class: 'rollout-body' }, smokeBlock(r), canaryBlock(r), windowsBlock(r)),
      error ? h('div', { class: 'row-error inset', role: 'alert', 'data-code': error.code }, h('span', { class: 'code', text: error.code }), h('span', { class: 'message', text: error.message })) : null,
      actionsBar(r),
      historyBlock(r));
  }

  function renderRollouts() {
    const open = state.rollouts.filter((r) => !FINAL.includes(r.state)).length;
    $('#rollout-count').textContent = state.rollouts.length ? plural(state.rollouts.length, 'rollout') + ' · ' + open + ' open' : '';
    const cards = state.rollouts.map(rolloutCard);
    if (!cards.length) cards.push(h('div', { class: 'empty-row', text: 'Nothing published yet. Upload a signed bundle above.' }));
    $('#rollouts').replaceChildren(...cards);
  }

  function renderPublishing() {
    renderUploadTenants();
    renderRollouts();
  }

  async function rolloutAction(r, action) {
    const key = rolloutKey(r);
    const reason = ((state.reasons && state.reasons[key]) || '').trim();
    let body = {};
    if (action === 'canary') {
      const tenants = Array.from(state.canaryPick[key] || []);
      if (!tenants.length) {
        state.rolloutErrors[key] = { code: 'no_canary_tenant', message: 'pick at least one canary tenant' };
        renderRollouts();
        return;
      }
      body = { tenants };
    } else if (action === 'rollback') {
      if (!reason) {
        state.rolloutErrors[key] = { code: 'reason_required', message: 'a rollback says why: type a reason first' };
        renderRollouts();
        return;
      }
      body = { reason };
    } else if (['promote', 'pause', 'resume'].includes(action) && reason) {
      body = { reason };
    }
    state.rolloutBusy[key] = action;
    delete state.rolloutErrors[key];
    renderRollouts();
    try {
      const result = await api('/plugins/' + seg(r.plugin) + '/rollouts/' + seg(r.version) + '/' + action, { method: 'POST', body });
      if (state.reasons) delete state.reasons[key];
      delete state.canaryPick[key];
      const now = (STATE_LABEL[result.state] || result.state).toLowerCase();
      const done = {
        canary: 'canary started on ' + (body.tenants || []).join(', '),
        judge: plural(result.windows.length, 'window') + ' judged so far, ' + (result.state === 'canary' ? 'still in its canary' : 'now ' + now),
        promote: 'promoted: the default version for every tenant without a pin',
        pause: 'paused', resume: 'resumed: ' + now,
        rollback: 'rolled back' + (result.canary.length ? ': the canary tenants are back on their previous version' : ''),
        'resume-rollout': 'continued: ' + now,
      }[action];
      publishStatus(r.plugin + ' ' + r.version + ': ' + done);
    } catch (error) {
      state.rolloutErrors[key] = { code: error.code || 'failed', message: error.message };
    } finally {
      delete state.rolloutBusy[key];
    }
    try {
      await refreshAfterChange();
    } catch (error) {
      publishStatus(error.message, 'error', error.code);
      renderRollouts();
    }
  }

  async function upload(event) {
    event.preventDefault();
    if (state.uploading) return;
    const form = $('#upload-form');
    const bundle = $('#upload-bundle').files[0];
    const signature = $('#upload-signature').files[0];
    const tenant = $('#upload-tenant').value;
    if (!bundle || !signature || !tenant) {
      publishStatus('choose a bundle, its signature file and the publishing tenant', 'error', 'incomplete');
      return;
    }
    let record;
    try {
      record = JSON.parse(await signature.text()).record;
    } catch (_) {
      record = null;
    }
    if (!record || typeof record.plugin !== 'string') {
      publishStatus('the signature file is not a signed release record (JSON with a record and a signature)', 'error', 'malformed_signature');
      return;
    }
    const data = new FormData();
    data.append('bundle', bundle, bundle.name);
    data.append('signature', signature, signature.name);
    data.append('tenant', tenant);
    for (const input of form.querySelectorAll('select[name=wait], input[type=number]')) {
      if (input.value.trim() !== '') data.append(input.name, input.value.trim());
    }
    if ($('#upload-backport').checked) data.append('backport', 'true');
    state.uploading = true;
    $('#upload-submit').disabled = true;
    $('#upload-submit').textContent = 'Publishing…';
    publishStatus(null);
    try {
      const r = await api('/plugins/' + seg(record.plugin) + '/publish', { method: 'POST', form: data });
      if (r.state === 'failed') {
        const last = r.history[r.history.length - 1];
        publishStatus(r.plugin + ' ' + r.version + ' failed: ' + (last ? last.reason : 'see its rollout'), 'error', 'rollout_failed');
      } else {
        const took = r.smoke ? ' (smoke test ' + micros(r.smoke.elapsed_micros) + ')' : '';
        publishStatus(r.plugin + ' ' + r.version + ' published from ' + r.publisher_tenant + ': ' + (STATE_LABEL[r.state] || r.state).toLowerCase() + took);
      }
      form.reset();
      $('#judge-settings').open = false;
      renderUploadTenants();
    } catch (error) {
      publishStatus(error.message, 'error', error.code || 'failed');
    } finally {
      state.uploading = false;
      $('#upload-submit').disabled = false;
      $('#upload-submit').textContent = 'Publish';
    }
    try {
      await refreshAfterChange();
    } catch (error) {
      publishStatus(error.message, 'error', error.code);
    }
  }

  // ---------------------------------------------------------------- loading
  function showSignedIn(on) {
    $('#signed-in').hidden = !on;
    $('#signed-out').hidden = on;
    $('#sign-out').hidden = !on;
    $('#refresh').hidden = !on;
    $('#connect').hidden = on;
    $('#token').hidden = on;
    if (!on) { $('#health-pill').hidden = true; $('#audit-pill').hidden = true; }
  }

  function tokenError(error) {
    const box = $('#token-error');
    if (!error) { box.hidden = true; box.textContent = ''; return; }
    box.hidden = false;
    box.textContent = error.code + ': ' + error.message;
  }

  async function loadTenant() {
    if (!state.tenant) { state.plugins = []; state.banners = []; renderTenant(); return; }
    const id = state.tenant;
    const data = await api('/tenants/' + seg(id) + '/plugins');
    if (state.tenant !== id) return;
    state.plugins = data.plugins;
    state.banners = data.banners;
    renderTenant();
  }

  async function load() {
    if (!state.token) { showSignedIn(false); document.body.dataset.ready = 'true'; return; }
    state.loading = true;
    try {
      const [catalog, tenants, health, audit, rollouts] = await Promise.all([
        api('/plugins'), api('/tenants'), api('/health'), api('/audit/verify').catch(() => null), api('/rollouts'),
      ]);
      state.catalog = catalog.plugins;
      state.tenants = tenants.tenants;
      state.health = health.plugins;
      state.audit = audit;
      state.rollouts = rollouts.rollouts;
      tokenError(null);
      showSignedIn(true);
      renderPills();
      renderBanners();
      renderCatalog();
      renderPublishing();
      if (state.tenant && !state.tenants.some((t) => t.id === state.tenant)) state.tenant = '';
      await loadTenant();
    } catch (error) {
      if (error.status === 401) {
        state.token = '';
        sessionStorage.removeItem(TOKEN_KEY);
        showSignedIn(false);
      }
      tokenError(error);
    } finally {
      state.loading = false;
      document.body.dataset.ready = 'true';
    }
  }

  async function refreshAfterChange() {
    const [catalog, health, audit, rollouts] = await Promise.all([
      api('/plugins'), api('/health'), api('/audit/verify').catch(() => null), api('/rollouts'),
    ]);
    state.catalog = catalog.plugins;
    state.health = health.plugins;
    state.audit = audit;
    state.rollouts = rollouts.rollouts;
    renderPills();
    renderBanners();
    renderCatalog();
    renderRollouts();
    await loadTenant();
  }

  // ---------------------------------------------------------------- actions
  async function change(plugin, run, done) {
    state.busy[plugin] = true;
    delete state.errors[plugin];
    renderTenantPlugins();
    try {
      const result = await run();
      const lines = (result && result.report && result.report.plugins) || [];
      const failed = lines.find((line) => line.name === plugin && line.outcome === 'failed');
      if (failed) status(done(result) + ', but it failed to start: see its health', 'error');
      else status(done(result));
    } catch (error) {
      state.errors[plugin] = { code: error.code || 'failed', message: error.message };
      status(null);
    } finally {
      delete state.busy[plugin];
    }
    try {
      await refreshAfterChange();
    } catch (error) {
      status(error.code + ': ' + error.message, 'error');
      renderTenantPlugins();
    }
  }

  function grant(plugin, verb) {
    const tenant = state.tenant;
    return change(plugin,
      () => api('/tenants/' + seg(tenant) + '/plugins/' + seg(plugin) + '/' + verb, { method: 'POST' }),
      (r) => verb === 'enable'
        ? plugin + ' enabled for ' + tenant + ' at ' + (r.enablement.version || '?')
        : plugin + ' disabled for ' + tenant);
  }

  function pin(plugin, version) {
    const tenant = state.tenant;
    const path = '/tenants/' + seg(tenant) + '/plugins/' + seg(plugin) + '/pin';
    return change(plugin,
      () => version ? api(path, { method: 'POST', body: { version } }) : api(path, { method: 'DELETE' }),
      () => version ? plugin + ' pinned to ' + version + ' for ' + tenant : plugin + ' follows the latest version for ' + tenant);
  }

  // ---------------------------------------------------------------- wiring
  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('#token').value.trim();
    if (!token) { tokenError({ code: 'unauthorized', message: 'enter an operator token' }); return; }
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#token').value = '';
    load();
  });
  $('#sign-out').addEventListener('click', () => {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    state.catalog = []; state.tenants = []; state.plugins = []; state.errors = {};
    state.rollouts = []; state.rolloutErrors = {}; state.canaryPick = {};
    showSignedIn(false);
  });
  $('#refresh').addEventListener('click', () => { status(null); load(); });
  $('#upload-form').addEventListener('submit', upload);
  $('#tenant-picker').addEventListener('change', (event) => {
    state.tenant = event.target.value;
    state.errors = {};
    if (state.tenant) sessionStorage.setItem(TENANT_KEY, state.tenant); else sessionStorage.removeItem(TENANT_KEY);
    renderTenantMeta();
    status(null);
    loadTenant().catch((error) => status(error.code + ': ' + error.message, 'error'));
  });

  showSignedIn(!!state.token);
  load();
})();
