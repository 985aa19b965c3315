// The hosted pages of the OAuth flow (sign-in, consent, device, errors), on the shared layout.
import { errorBlock, escapeHtml, layout } from '../../http/hosted-pages.ts';
import { describeScope } from './scope-descriptions.ts';

export function loginPage(input: {
  action: string;
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
}): string {
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p class="lead">to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${errorBlock(input.error)}
<form method="post" action="${escapeHtml(input.action)}" autocomplete="on">
  <input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autocomplete="username" value="${escapeHtml(input.email)}" autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required autocomplete="current-password">
  <button type="submit">Sign in</button>
</form>`,
  );
}

export function consentPage(input: {
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  clientOrgName: string;
  scopes: string[];
  orgs: { id: string; name: string; role: string }[];
  email: string;
  error?: string;
}): string {
  const orgField =
    input.orgs.length === 1
      ? `<input type="hidden" name="org_id" value="${escapeHtml(input.orgs[0]?.id)}">
  <p>Organization: <strong>${escapeHtml(input.orgs[0]?.name)}</strong> (${escapeHtml(input.orgs[0]?.role)})</p>`
      : `<label for="org_id">Organization</label>
  <select id="org_id" name="org_id" required>
    ${input.orgs.map((org) => `<option value="${escapeHtml(org.id)}">${escapeHtml(org.name)} (${escapeHtml(org.role)})</option>`).join('\n    ')}
  </select>`;
  const scopes = input.scopes.length
    ? `<ul class="scopes">${input.scopes
        .map((scope) => `<li><code>${escapeHtml(scope)}</code> ${escapeHtml(describeScope(scope))}</li>`)
        .join('')}</ul>`
    : '<p>Only to know who you are.</p>';
  return layout(
    'Authorize access',
    `<h1>Authorize ${escapeHtml(input.clientName)}</h1>
<p class="lead">${escapeHtml(input.clientName)} (registered by ${escapeHtml(input.clientOrgName)}) asks to act as
<strong>${escapeHtml(input.email)}</strong>:</p>
${errorBlock(input.error)}
<form method="post" action="${escapeHtml(input.action)}">
  <input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
  ${scopes}
  ${orgField}
  <p>It gets no more than your role in that organization allows, and you can withdraw this later.</p>
  <button type="submit">Allow</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
  <input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
  <button type="submit" class="secondary">Deny</button>
</form>`,
  );
}

export function noOrgPage(clientName: string): string {
  return layout(
    'No organization',
    `<h1>No organization to grant</h1>
<p>${escapeHtml(clientName)} acts in an organization, and you belong to no active one.</p>`,
  );
}

export function errorPage(out: { error: string; error_description?: string }): string {
  return layout(
    'Something went wrong',
    `<h1>This request cannot continue</h1>
<p class="error" role="alert"><strong>${escapeHtml(out.error)}</strong>${
      out.error_description ? `: ${escapeHtml(out.error_description)}` : ''
    }</p>
<p>Go back to the application and try again. If it keeps happening, tell its developers what this page says.</p>`,
  );
}

// ── device authorization (RFC 8628): oidc-provider hands over its form (action and a hidden
// anti-forgery field); the fields and buttons point at it with `form=`.

export function deviceCodePage(providerForm: string, error?: string): string {
  // The provider's form carries its own text field (prefilled from `?user_code=`): label that one
  // rather than adding a second `user_code` to the submission.
  const form = providerForm.replace(
    'type="text" name="user_code"',
    'type="text" id="user_code" name="user_code"',
  );
  return layout(
    'Connect a device',
    `<h1>Connect a device</h1>
<p class="lead">Enter the code shown on your device or in your terminal.</p>
${errorBlock(error)}
<label for="user_code">Code</label>
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

export function deviceConfirmPage(form: string, clientName: string, userCode: string): string {
  return layout(
    'Confirm the device',
    `<h1>Is this your device?</h1>
<p class="lead"><strong>${escapeHtml(clientName)}</strong> is asking to sign in with the code</p>
<p><code>${escapeHtml(userCode)}</code></p>
<p>Continue only if you started this on a device or terminal you trust and it shows the same code.</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes" class="secondary">Cancel</button>`,
  );
}

export function deviceDonePage(clientName: string): string {
  return layout(
    'Device connected',
    `<h1>You are done</h1>
<p>${escapeHtml(clientName)} is now signed in. You can close this window and return to your device.</p>`,
  );
}

export function signedOutPage(): string {
  return layout('Signed out', '<h1>Signed out</h1><p>You have been signed out of Orgplane.</p>');
}

export function logoutPage(form: string): string {
  return layout(
    'Sign out',
    `<h1>Sign out?</h1>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
  );
}

/** The second step of signing in, for accounts with two-factor authentication. */
export function mfaPage(input: {
  action: string;
  csrf: string;
  ticket: string;
  clientName: string;
  error?: string;
}) {
  return layout(
    'Two-factor authentication',
    `<h1>Enter your code</h1>
<p class="lead">Your account uses two-factor authentication. Enter the 6-digit code from your
authenticator app to continue to <strong>${escapeHtml(input.clientName)}</strong>.</p>
${errorBlock(input.error)}
<form method="post" action="${escapeHtml(input.action)}">
  <input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
  <input type="hidden" name="ticket" value="${escapeHtml(input.ticket)}">
  <label for="code">Authentication code</label>
  <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required
    autocomplete="one-time-code" autofocus>
  <button type="submit">Verify</button>
</form>`,
  );
}
