// `orgplane` commands.
//
// A user's sign-in, an HTTP client of a running server (cli-login-command.ts; no database):
//
//   npm run orgplane -- login --url https://orgplane.example.com [--token <fl_clt_…>] [--name <client>]
//
// Operator commands, run on the server host against the configured database:
//
//   npm run orgplane -- create-user --email ops@example.com [--name "Ops"]   (password on stdin
//                                    or in ORGPLANE_NEW_USER_PASSWORD)
//   npm run orgplane -- rotate-signing-key
//
// create-user is the way to create platform-administrator accounts, whose addresses HTTP signup
// refuses (emails are not verified, so signup must not hand out platform-admin rights).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { runLoginCommand } from './cli-login-command.ts';
import { ConfigError, loadConfig } from './config.ts';
import { ProblemError } from './http/problem.ts';

const USAGE = `usage:
  orgplane help                                           this text (also --help, -h)
  orgplane login --url <platform-url> [--token <one-time-token>] [--name <client name>]
                                                          sign in to a running server (an HTTP client)
  orgplane create-user --email <email> [--name <name>]   password from stdin or ORGPLANE_NEW_USER_PASSWORD
  orgplane rotate-signing-key`;

async function readPassword(): Promise<string> {
  const fromEnv = process.env.ORGPLANE_NEW_USER_PASSWORD;
  if (fromEnv) return fromEnv;
  // Typed at a terminal the password would be echoed: ask for a pipe or the variable instead.
  if (process.stdin.isTTY) {
    throw new ConfigError(
      'pipe the password on stdin (printf "%s\\n" "$PASSWORD" | npm run orgplane -- create-user …) or set ORGPLANE_NEW_USER_PASSWORD',
    );
  }
  let text = '';
  for await (const chunk of process.stdin) {
    text += chunk;
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Asked for, the usage is the answer (stdout, exit 0); given a wrong command it is a complaint.
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  // `login` talks HTTP only: dispatched before any operator option, config or database code.
  if (command === 'login') return runLoginCommand(rest);
  const { values } = parseArgs({
    args: rest,
    options: { email: { type: 'string' }, name: { type: 'string' } },
    strict: true,
  });
  if (command !== 'create-user' && command !== 'rotate-signing-key') {
    console.error(USAGE);
    return 64;
  }
  if (command === 'create-user' && !values.email) {
    console.error(`create-user needs --email\n${USAGE}`);
    return 64;
  }
  const config = loadConfig();
  const password = command === 'create-user' ? await readPassword() : '';
  // Loaded here, not at the top: the database and server code is the operator commands' alone.
  const { startOrgplane } = await import('./bootstrap.ts');
  const { createAccount } = await import('./modules/auth/service.ts');
  const { DataDirInUseError } = await import('./db/database.ts');
  const orgplane = await startOrgplane(
    config,
    { url: config.databaseUrl, dataDir: config.dataDir },
    { logger: false },
  ).catch((error) => {
    // A running server holds the embedded database; rotation has a way that works beside it.
    if (error instanceof DataDirInUseError && command === 'rotate-signing-key') {
      error.message += `. While it runs, a platform administrator rotates with POST ${config.publicUrl}/api/v1/admin/signing-keys/rotate`;
    }
    throw error;
  });
  try {
    if (command === 'rotate-signing-key') {
      const kid = await orgplane.deps.keys.rotate();
      console.log(
        `signing with new key ${kid}; tokens signed by the previous key stay valid until they expire`,
      );
      return 0;
    }
    const origin = { ip: 'server-cli', requestId: `cli-${randomUUID()}`, userAgent: 'orgplane-cli' };
    const created = await createAccount(
      orgplane.deps,
      origin,
      { email: values.email as string, password, ...(values.name ? { name: values.name } : {}) },
      { createdOnServer: true },
    );
    const admin = config.platformAdminEmails.has(created.user.email.toLowerCase());
    console.log(
      `created ${created.user.email} (${created.user.id}) with organization ${created.organization.slug}` +
        (admin ? '; a platform administrator (listed in ORGPLANE_PLATFORM_ADMIN_EMAILS)' : ''),
    );
    return 0;
  } finally {
    await orgplane.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ProblemError || error instanceof ConfigError)
      console.error(`orgplane: ${error.message}`);
    else console.error('orgplane:', error instanceof Error ? error.message : error);
    process.exit(error instanceof ProblemError || error instanceof ConfigError ? 65 : 1);
  },
);
