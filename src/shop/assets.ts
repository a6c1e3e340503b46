/** The demo shop's stylesheet and its one small script, served by the shop like any origin's assets. */

export const SHOP_CSS = `
:root{--ink:#1f2430;--muted:#6b7280;--line:#e7e4df;--bg:#faf8f5;--card:#fff;--accent:#b4436c;--accent-ink:#fff;--radius:14px}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
a{color:inherit;text-decoration:none}
a:hover{color:var(--accent)}
.wrap{max-width:1180px;margin:0 auto;padding:0 24px}
.top{background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:5}
.top .wrap{display:flex;align-items:center;gap:24px;height:64px}
.logo{font-weight:800;font-size:20px;letter-spacing:-.02em;white-space:nowrap}
.logo span{color:var(--accent)}
.search{flex:1;display:flex;max-width:520px;margin-left:auto}
.search input{flex:1;min-width:0;height:40px;border:1px solid var(--line);border-right:0;border-radius:999px 0 0 999px;padding:0 16px;font:inherit;background:var(--bg)}
.search input:focus{outline:2px solid var(--accent);outline-offset:-1px;background:#fff}
.search button{height:40px;border:0;border-radius:0 999px 999px 0;padding:0 18px;background:var(--ink);color:#fff;font:inherit;font-weight:600;cursor:pointer}
.nav{border-bottom:1px solid var(--line);background:#fff}
.nav .wrap{display:flex;gap:22px;overflow-x:auto;height:44px;align-items:center;font-size:14px;white-space:nowrap}
.nav a{color:var(--muted);font-weight:500}
.nav a:hover,.nav a.on{color:var(--ink)}
.hero{margin:28px 0 8px;padding:28px 32px;border-radius:var(--radius);background:linear-gradient(120deg,#f6e3ea,#efe7fb 55%,#e3f1f4)}
.hero h1{margin:0 0 6px;font-size:30px;letter-spacing:-.02em}
.hero p{margin:0;color:#4b5060;max-width:720px}
.rail{margin:30px 0}
.rail-head{display:flex;align-items:baseline;justify-content:space-between;gap:16px;margin-bottom:12px}
.rail-head h2{margin:0;font-size:20px;letter-spacing:-.01em}
.rail-head a,.hint{font-size:14px;color:var(--muted)}
.badge{display:inline-block;margin-left:8px;padding:2px 8px;border-radius:999px;background:#fbe9f0;color:var(--accent);font-size:12px;font-weight:600;vertical-align:middle}
.grid{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:18px}
.grid.wide{grid-template-columns:repeat(auto-fill,minmax(170px,1fr))}
.edgerec-item{display:flex;flex-direction:column;background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:12px;transition:box-shadow .15s,transform .15s;min-width:0}
a.edgerec-item:hover{box-shadow:0 8px 24px rgba(31,36,48,.08);transform:translateY(-2px);color:inherit}
.edgerec-thumb{display:flex;align-items:center;justify-content:center;aspect-ratio:1/1;border-radius:10px;margin-bottom:10px;font-size:34px;font-weight:700;letter-spacing:.04em;color:hsl(var(--hue) 40% 30%);background:radial-gradient(circle at 30% 25%,hsl(var(--hue) 80% 95%),hsl(var(--hue) 55% 80%))}
.edgerec-title{font-weight:600;font-size:14px;line-height:1.35;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;min-height:2.7em;overflow-wrap:anywhere}
.edgerec-category{font-size:12.5px;color:var(--muted);margin-top:4px}
.edgerec-price{font-weight:700;margin-top:auto;padding-top:6px}
.edgerec-item [data-text]::before{content:attr(data-text)}
.empty{padding:24px;border:1px dashed var(--line);border-radius:var(--radius);color:var(--muted);background:#fff;grid-column:1/-1}
.crumbs{margin:22px 0 10px;font-size:13.5px;color:var(--muted)}
.crumbs a:hover{text-decoration:underline}
.product{display:grid;grid-template-columns:minmax(0,440px) 1fr;gap:40px;align-items:start;margin-top:6px}
.product .edgerec-thumb{font-size:96px;margin:0;border-radius:var(--radius)}
.product h1{margin:4px 0 10px;font-size:28px;line-height:1.2;letter-spacing:-.02em;overflow-wrap:anywhere}
.brand{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12.5px;font-weight:600}
.price{font-size:24px;font-weight:700;margin:0 0 18px}
.btn{height:46px;padding:0 28px;border:0;border-radius:999px;background:var(--accent);color:var(--accent-ink);font:inherit;font-weight:700;cursor:pointer}
.btn:hover{filter:brightness(1.08)}
.btn.done{background:#2f7d57}
.facts{margin:22px 0 0;padding:0;list-style:none;color:#4b5060;font-size:14px}
.facts li{padding:8px 0;border-top:1px solid var(--line)}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0 18px}
.chips a{padding:6px 12px;border:1px solid var(--line);border-radius:999px;background:#fff;font-size:13.5px}
.page-title{margin:26px 0 4px;font-size:28px;letter-spacing:-.02em}
.sub{margin:0 0 14px;color:var(--muted)}
.foot{margin-top:48px;border-top:1px solid var(--line);background:#fff;color:var(--muted);font-size:13.5px}
.foot .wrap{padding-top:20px;padding-bottom:28px;display:flex;flex-wrap:wrap;gap:8px 24px;justify-content:space-between}
.foot a{text-decoration:underline}
.notice{margin:28px 0;padding:20px 24px;border-radius:var(--radius);background:#fff7e6;border:1px solid #f3dfb0}
@media (max-width:720px){.top .wrap{gap:12px}.logo{font-size:17px}.product{grid-template-columns:1fr;gap:20px}.hero{padding:20px}.grid,.grid.wide{grid-template-columns:repeat(2,minmax(0,1fr));gap:12px}}
`;

/** "Add to bag" feedback; the Worker's beacon reports the cart event itself. */
export const SHOP_JS = `document.addEventListener('click', (ev) => {
  const button = ev.target instanceof Element && ev.target.closest('button[data-edgerec-event="cart"]');
  if (!button) return;
  button.classList.add('done');
  button.textContent = 'Added to bag \\u2713';
});
`;
