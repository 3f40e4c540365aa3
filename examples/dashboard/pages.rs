//! The example's plugin pages: full HTML documents that load the bridge helper and follow the shell's theme.

/// A plugin page: `body` inside a themed document with the bridge helper and `script` run once the bridge is
/// open (`theme` applied, `zelavis` ready).
pub fn document(title: &str, body: &str, script: &str) -> String {
    let title = zelavis::core::page::escape_html(title);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{STYLE}</style>
<script src="/zelavis/api/v1/dashboard/bridge.js"></script>
</head>
<body>
{body}
<script>
(() => {{
  const apply = (t) => {{ if (!t) return; for (const [k, v] of Object.entries(t.tokens)) document.documentElement.style.setProperty('--' + k, v); document.documentElement.dataset.mode = t.mode; }};
  zelavis.theme.onChange(apply);
  zelavis.ready.then((t) => {{ apply(t); document.body.dataset.bridge = 'ready'; }}).catch(() => {{ document.body.dataset.bridge = 'standalone'; }});
  const $ = (s) => document.querySelector(s);
  const el = (tag, text, cls) => {{ const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }};
  window.page = {{ $, el }};
  {script}
}})();
</script>
</body>
</html>
"#
    )
}

const STYLE: &str = r"
:root { --background:#f6f7f9; --surface:#fff; --text:#101828; --muted:#5b6474; --border:#e3e7ee; --accent:#4f46e5; }
* { box-sizing: border-box; }
body { margin:0; padding:28px 32px 40px; font:14px/1.5 Inter, ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; background:var(--background); color:var(--text); }
h1 { font-size:22px; margin:0 0 4px; letter-spacing:-.01em; }
.lead { color:var(--muted); margin:0 0 20px; }
.row { display:flex; gap:10px; align-items:center; justify-content:space-between; margin-bottom:20px; flex-wrap:wrap; }
.panel { background:var(--surface); border:1px solid var(--border); border-radius:10px; overflow:hidden; }
.grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(200px,1fr)); gap:14px; margin-bottom:20px; }
.stat { background:var(--surface); border:1px solid var(--border); border-radius:10px; padding:14px 16px; }
.stat b { display:block; font-size:22px; letter-spacing:-.02em; }
.stat span { color:var(--muted); font-size:13px; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:10px 16px; border-bottom:1px solid var(--border); }
th { font-size:12px; color:var(--muted); font-weight:600; }
tr:last-child td { border-bottom:0; }
.pill { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:560; background:rgba(79,70,229,.1); color:var(--accent); }
.pill.ok { background:rgba(6,118,71,.12); color:#067647; }
.pill.warn { background:rgba(161,92,7,.12); color:#a15c07; }
button { font:inherit; height:34px; padding:0 14px; border-radius:8px; border:1px solid var(--border); background:var(--surface); color:var(--text); cursor:pointer; font-weight:560; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
.actions { display:flex; gap:8px; }
.muted { color:var(--muted); }
";
