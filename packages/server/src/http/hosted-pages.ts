// Server-rendered pages a person sees (OAuth sign-in and consent, device verification, CLI-login
// approval): one plain layout, every field labelled, every value escaped, no script, never framed.
// Styled plainly (contrast at least 3:1 for borders and focus, 4.5:1 for text); per-org branding
// comes later.
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Headers every hosted page carries: never framed (clickjacking), never cached, no scripts. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
};

const STYLE = `
  *{box-sizing:border-box}
  body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
    font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330}
  main{width:100%;max-width:26rem;margin:1.5rem;padding:2rem;background:#fff;border-radius:12px;
    box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06)}
  h1{font-size:1.35rem;margin:0 0 .25rem} p.lead{margin:0 0 1.5rem;color:#5b6270}
  label{display:block;font-weight:600;margin:1rem 0 .35rem}
  input[type=email],input[type=password],input[type=text],select{width:100%;padding:.6rem .7rem;
    border:1px solid #767d89;border-radius:8px;font:inherit}
  input:focus,select:focus,button:focus{outline:3px solid #1d4ed8;outline-offset:1px}
  button{margin-top:1.5rem;width:100%;padding:.7rem;border:0;border-radius:8px;font:inherit;
    font-weight:600;background:#2457d6;color:#fff;cursor:pointer}
  button.secondary{background:#eef0f4;color:#1d2330;margin-top:.6rem}
  .error{margin:0 0 1rem;padding:.7rem .8rem;border-radius:8px;background:#fdecec;color:#8a1c1c}
  ul.scopes{padding-left:1.2rem;margin:.5rem 0 0} ul.scopes li{margin:.2rem 0}
  code{font-size:.85em;background:#f0f2f5;padding:.05rem .3rem;border-radius:4px}
  footer{margin-top:1.5rem;font-size:.8rem;color:#5b6270;text-align:center}`;

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Orgplane</title><style>${STYLE}</style></head>
<body><main>${body}<footer>Orgplane</footer></main></body></html>`;
}

export function errorBlock(message: string | undefined): string {
  return message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '';
}
