// The hosted page of the CLI login (the request's `verification_url`): what asks to sign in, a
// password form that approves it, and the outcome pages — on the shared layout, every value escaped.
import { errorBlock, escapeHtml, layout } from '../../http/hosted-pages.ts';
import type { presentCliLoginRequest } from './service.ts';

export type CliLoginRequestView = ReturnType<typeof presentCliLoginRequest>;

/** `2026-04-21 10:05:00 UTC`: the page has no script to show local time. */
function when(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`)}</time>`;
}

function minutesLeft(iso: string): string {
  const minutes = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 60_000));
  return minutes <= 1 ? 'in about a minute' : `in about ${minutes} minutes`;
}

function requestDetails(request: CliLoginRequestView): string {
  const row = (term: string, value: string) =>
    `<dt style="font-weight:600;margin-top:.5rem">${term}</dt><dd style="margin:0;overflow-wrap:anywhere">${value}</dd>`;
  return `<dl style="margin:0 0 1rem">
  ${row('Client', request.client_name ? `<strong>${escapeHtml(request.client_name)}</strong>` : 'A command-line client (it gave no name)')}
  ${row('Requested from', escapeHtml(request.requested_from.ip ?? 'an unknown address'))}
  ${row('Its user agent', request.requested_from.user_agent ? `<code>${escapeHtml(request.requested_from.user_agent)}</code>` : 'not given')}
  ${row('Requested at', when(request.created_at))}
  ${row('Expires', `${when(request.expires_at)} (${minutesLeft(request.expires_at)})`)}
</dl>`;
}

export interface ApprovalForm {
  request: CliLoginRequestView;
  secret: string;
  csrf: string;
  email?: string;
  error?: string;
  /** Set when the account does not allow CLI logins: explains how to turn it on. */
  notAllowed?: boolean;
}

export const NOT_ALLOWED_HELP = `<div class="error" role="alert">
  <p style="margin:0 0 .5rem"><strong>CLI login is not enabled for your account.</strong></p>
  <p style="margin:0">Turn it on with the API, signed in as yourself:
  <code>PATCH /api/v1/me</code> <code>{"allow_cli_login_access": true}</code>.
  Then sign in below again: this request is still waiting.</p>
</div>`;

export function approvalPage(input: ApprovalForm): string {
  const { request } = input;
  return layout(
    'Approve a CLI sign-in',
    `<h1>Sign in to a terminal?</h1>
<p class="lead">A command-line client asks to sign in to Orgplane as you.</p>
${input.notAllowed ? NOT_ALLOWED_HELP : errorBlock(input.error)}
${requestDetails(request)}
<p><strong>Approving lets that terminal act as you</strong>, with everything your account may do in
your default organization, for as long as that sign-in lasts. Continue only if you started this sign-in yourself,
just now, and the details above match.</p>
<form method="post" action="/cli-login" autocomplete="on">
  <input type="hidden" name="request_id" value="${escapeHtml(request.request_id)}">
  <input type="hidden" name="secret" value="${escapeHtml(input.secret)}">
  <input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autocomplete="username" value="${escapeHtml(input.email)}"${input.email ? '' : ' autofocus'}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required autocomplete="current-password"${input.email ? ' autofocus' : ''}>
  <label for="code">Authentication code <span style="font-weight:400">(only with two-factor authentication)</span></label>
  <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code">
  <button type="submit">Sign in and approve</button>
</form>
<p style="margin-top:1rem;font-size:.9rem;color:#5b6270">Not you, or not expected? Close this page: nothing is approved.</p>`,
  );
}

export function approvedPage(input: { clientName: string | null; token: string; expiresAt: string }): string {
  const client = input.clientName ? `<strong>${escapeHtml(input.clientName)}</strong>` : 'Your terminal';
  return layout(
    'CLI sign-in approved',
    `<h1>Approved</h1>
<p class="lead">Return to your terminal — it will finish signing in.</p>
<p>${client} is signed in as you once it picks up the approval. You can close this page then.</p>
<label for="token">One-time token</label>
<input id="token" name="token" type="text" readonly value="${escapeHtml(input.token)}" autocomplete="off" spellcheck="false">
<p style="font-size:.9rem">Only if your CLI cannot wait for this page (it asks for a token): paste this
token there, or pass it with <code>--token</code>. It works once, until ${when(input.expiresAt)}, and
signs in as you — do not share it.</p>`,
  );
}

/** A request the page cannot act on: unknown, expired, already used, or a forged form. */
export function requestProblemPage(title: string, message: string): string {
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>
<p>Nothing was approved. To sign in from your terminal, run its login command again and open the new link it shows.</p>`,
  );
}
