#!/usr/bin/env node
// The end-to-end test a user would trust: the whole service, real peers, a real browser.
//
//   node tests/e2e/approval_flow.mjs --sendflow BUILD/sendflow
//
// Starts an OpenID Connect provider (tests/tools/oidc-server.mjs), an SMTP server
// (tests/tools/smtp_server.py) and `sendflow serve` on a temporary folder (auth.mode = oidc
// against that provider, mail.transport = smtp to that server, the sample intranet library),
// then drives Debian's Chromium (headless, through playwright-core):
//   1. the QA lead signs in through the provider and starts the monthly EHC plan audit on /start;
//   2. an auditor signs in, submits the audit form empty first (the error summary appears and
//      has the focus), then grades a plan with an Inadequate standard, so it goes to moderation;
//   3. the moderator signs in and completes the moderation;
//   4. the approval mail arrives at the SMTP server; its approve link is opened the way a mail
//      scanner would (GET and HEAD) and in the browser: the confirmation page changes nothing
//      (checked through the REST API: the task is still open);
//   5. the manager signs in from the link's page, confirms, and sees the outcome page; the audit
//      cycle's page then shows the approval in its history.
// Screenshots of every step go to tests/artifacts/e2e/ (kept as test artefacts). Each page is
// also checked with axe-core: serious or critical accessibility violations fail the test.
// Exit 0 when every check passed; 1 with the failed check on stderr.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require_ = (await import('node:module')).createRequire(path.join(root, 'tests/package.json'));
const { chromium } = require_('playwright-core');
const axeSource = fs.readFileSync(require_.resolve('axe-core/axe.min.js'), 'utf8');

// --- arguments -----------------------------------------------------------------------------
let sendflowBinary = path.join(root, 'build/sendflow');
let chromiumPath = process.env.SENDFLOW_CHROMIUM ?? '/usr/bin/chromium';
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--sendflow') sendflowBinary = path.resolve(process.argv[++i]);
  else if (process.argv[i] === '--chromium') chromiumPath = process.argv[++i];
  else {
    console.error(`usage: approval_flow.mjs [--sendflow BINARY] [--chromium BINARY]`);
    process.exit(2);
  }
}

const started = Date.now();
const log = (message) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
class CheckFailed extends Error {}
function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sendflow-e2e-'));
const artifacts = path.join(root, 'tests/artifacts/e2e');
fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });

const children = [];
function startProcess(name, command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const logFile = fs.createWriteStream(path.join(artifacts, `${name}.log`));
  child.stderr.pipe(logFile);
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) log(`${name} exited (code ${code}, signal ${signal})`);
  });
  return { child, logFile };
}
// The first line of a child's stdout (its "I am listening" line); the rest goes to its log.
function firstLine(name, child, logFile, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    let done = false;
    const timer = setTimeout(() => {
      if (!done) reject(new Error(`${name} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    lines.on('line', (line) => {
      logFile.write(`${line}\n`);
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('exit', () => {
      if (!done) reject(new Error(`${name} exited before it started; see tests/artifacts/e2e/${name}.log`));
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, fn, timeoutMs = 30000, everyMs = 250) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new CheckFailed(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

let stopping = false;
let browserContext = null;
async function cleanUp() {
  stopping = true;
  if (browserContext) await browserContext.close().catch(() => {});
  for (const child of children.reverse()) {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  await Promise.all(
    children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r)))),
  );
  fs.rmSync(work, { recursive: true, force: true });
}

// --- the people ------------------------------------------------------------------------------
// The identity provider's claims for each person; the roles are the provider's app roles, mapped
// to sendflow's roles by the configuration below.
const people = {
  'qa-001': { name: 'Priya Shah', email: 'priya.shah@council.example', roles: ['SEND.QaLead'] },
  'aud-001': { name: 'Tom Whitfield', email: 'tom.whitfield@council.example', roles: ['SEND.Auditor'] },
  'mod-001': { name: 'Marcus Bell', email: 'marcus.bell@council.example', roles: ['SEND.Moderator'] },
  'mgr-001': { name: 'Fiona Maclean', email: 'fiona.maclean@council.example', roles: ['SEND.HeadOfService'] },
};
const oidcUsers = Object.fromEntries(
  Object.entries(people).map(([id, p]) => [id, { preferred_username: id, sub: id, ...p }]),
);

async function main() {
  check(fs.existsSync(sendflowBinary), `no sendflow binary at ${sendflowBinary} (build it first)`);
  check(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/install-deps --test)`);

  // --- peers --------------------------------------------------------------------------------
  const smtp = startProcess('smtp', '/usr/bin/python3', [
    path.join(root, 'tests/tools/smtp_server.py'), '--dir', path.join(work, 'mail'),
  ]);
  const smtpPort = Number(await firstLine('smtp', smtp.child, smtp.logFile));
  check(smtpPort > 0, 'the SMTP server printed no port');

  // Who the identity provider signs in next (its authorize endpoint approves at once).
  const hintFile = path.join(work, 'next-user');
  fs.writeFileSync(hintFile, '');
  const oidc = startProcess('oidc', process.execPath, [
    path.join(root, 'tests/tools/oidc-server.mjs'),
    '--claims', JSON.stringify({ aud: 'sendflow-e2e' }),
    '--users', JSON.stringify(oidcUsers),
    '--hint-file', hintFile,
  ]);
  const { issuer } = JSON.parse(await firstLine('oidc', oidc.child, oidc.logFile));
  log(`OIDC provider ${issuer}, SMTP on port ${smtpPort}`);

  // An API key for the checks made through the REST API (the QA lead's view: every task).
  const apiKey = `sfk_e2e_${randomBytes(32).toString('base64url')}`;
  const apiKeyHash = createHash('sha256').update(apiKey).digest('hex');

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = `
store.type = sqlite
store.sqlite.path = ${work}/sendflow.db
workflows.dir = ${root}/workflows
templates.dir = ${root}/templates
documents.dir = ${work}/documents
http.address = 127.0.0.1
http.port = ${port}
http.public_url = ${base}
engine.workers = 2
engine.poll_interval = 200ms
engine.inline_jobs = true
deployment.environment = development
auth.mode = oidc
auth.oidc.issuer = ${issuer}
auth.oidc.client_id = sendflow-e2e
auth.oidc.client_secret = e2e-client-secret
auth.oidc.audience = sendflow-e2e
auth.oidc.role_map.SEND.QaLead = qa-lead
auth.oidc.role_map.SEND.Auditor = auditor
auth.oidc.role_map.SEND.Moderator = moderator
auth.oidc.role_map.SEND.HeadOfService = manager
auth.session.secret_file = ${work}/session.secret
auth.api_key.e2e.sha256 = ${apiKeyHash}
auth.api_key.e2e.roles = qa-lead
workbench.directory_file = ${root}/config/users.json
mail.transport = smtp
mail.smtp.host = 127.0.0.1
mail.smtp.port = ${smtpPort}
mail.smtp.starttls = off
mail.from = sendflow@council.example
mail.retry.initial = 1s
connector.type = folder
connector.folder.root = ${work}/intranet
connector.library = SEND Library
connector.page_size = 100
connector.fields.locality = Locality
connector.fields.finalised_date = DateFinalised
connector.fields.request_date = RequestDate
connector.fields.review_date = ReviewDue
connector.fields.caseworker = Caseworker
connector.fields.contributors = Contributors
connector.fields.year_group = YearGroup
connector.fields.setting = Setting
connector.fields.document_type = DocumentType
sample.first_start = true
sample.plans = 40
council.name = Sample Council
`;
  fs.writeFileSync(path.join(work, 'sendflow.properties'), config);
  const serve = startProcess('sendflow', sendflowBinary, [
    '--config', path.join(work, 'sendflow.properties'), 'serve',
  ], { cwd: work });
  const servingLine = await firstLine('sendflow', serve.child, serve.logFile, 60000);
  check(servingLine.includes(`:${port}`), `sendflow serve said: ${servingLine}`);
  await waitFor('/readyz', async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok);
  log(`sendflow serving on ${base}`);

  const api = async (method, urlPath, body) => {
    const response = await fetch(`${base}${urlPath}`, {
      method,
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: response.status, json, text };
  };

  // --- the browser --------------------------------------------------------------------------
  const profile = path.join(work, 'chromium-profile');
  browserContext = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1200, height: 900 },
  });
  browserContext.setDefaultTimeout(15000);
  const page = browserContext.pages()[0] ?? (await browserContext.newPage());
  let step = 0;
  const shot = async (name) => {
    step += 1;
    const file = path.join(artifacts, `${String(step).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  };
  const accessibility = async (name) => {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      await axe.run(document, { resultTypes: ['violations'] }));
    check(result.passes.length > 10, `axe-core checked only ${result.passes.length} rules on ${name}`);
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    fs.writeFileSync(path.join(artifacts, `axe-${name}.json`), JSON.stringify(result.violations, null, 2));
    check(bad.length === 0, `accessibility (${name}): ${bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`).join('; ')}`);
  };

  const setNextUser = (userId) => fs.writeFileSync(hintFile, userId);
  const signInAs = async (userId, startPath) => {
    await browserContext.clearCookies();
    setNextUser(userId);
    await page.goto(`${base}${startPath}`);
    await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith('/sign-in') &&
      !url.pathname.startsWith('/auth/'));
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    check((await page.content()).includes(people[userId].name),
      `the page after ${userId}'s sign-in does not name ${people[userId].name}`);
    log(`${userId} signed in, on ${new URL(page.url()).pathname}`);
  };
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState();
  };

  // 1. The QA lead starts the monthly EHC plan audit.
  await signInAs('qa-001', '/start');
  await shot('qa-lead-start-list');
  await accessibility('start-list');
  await page.getByRole('link', { name: 'Monthly EHC plan audit' }).click();
  await page.getByRole('button', { name: 'Start audit' }).waitFor();
  await page.getByLabel('Per locality').fill('1');
  await shot('qa-lead-start-form');
  await accessibility('start-form');
  await page.getByRole('button', { name: 'Start audit' }).click();
  await page.waitForURL(/\/instances\/[^/]+$/);
  const instanceId = new URL(page.url()).pathname.split('/').pop();
  log(`audit cycle ${instanceId} started`);
  await shot('qa-lead-instance-started');
  await accessibility('instance');
  await signOut();

  // 2. An auditor completes an audit: first with nothing filled in, then properly.
  const auditTitle = 'Audit the EHC plan against the five quality standards';
  await signInAs('aud-001', '/tasks');
  await waitFor('an audit task for aud-001', async () => {
    await page.goto(`${base}/tasks`);
    return (await page.getByRole('link', { name: auditTitle }).count()) > 0;
  }, 30000, 500);
  await shot('auditor-tasks');
  await accessibility('tasks');
  await page.getByRole('link', { name: auditTitle }).first().click();
  await page.getByRole('button', { name: 'Submit audit' }).waitFor();
  const auditTaskId = new URL(page.url()).pathname.split('/').pop();
  await accessibility('audit-form');
  await page.getByRole('button', { name: 'Submit audit' }).click();
  const summary = page.getByRole('alert').filter({ hasText: 'There is a problem' });
  await summary.waitFor();
  check(await summary.evaluate((el) => el.contains(document.activeElement) || el === document.activeElement),
    'the error summary does not have the focus after a failed submit');
  check((await summary.getByRole('link').count()) >= 5, 'the error summary lists fewer than the five standards');
  await shot('auditor-validation-error');
  await accessibility('audit-form-errors');
  const grades = ['Good', 'Good', 'Requires Improvement', 'Good', 'Inadequate'];
  for (let i = 0; i < 5; i++) {
    const group = page.getByRole('group', { name: new RegExp(`^${i + 1}\\. `) });
    await group.getByRole('radio', { name: grades[i], exact: true }).check();
  }
  await page.getByLabel('Evidence for the grades').fill(
    'Section F lists speech and language therapy "as required": not specified or quantified.');
  await page.getByLabel('What are you worried about?').fill('Provision is not quantified.');
  await shot('auditor-form-filled');
  await page.getByRole('button', { name: 'Submit audit' }).click();
  await page.waitForLoadState();
  const afterAudit = await api('GET', `/api/v1/tasks/${auditTaskId}`);
  check(afterAudit.status === 200 && afterAudit.json?.status === 'completed',
    `the audit task is not completed after the submit: ${afterAudit.status} ${afterAudit.text.slice(0, 300)}`);
  await shot('auditor-submitted');
  await signOut();

  // 3. The moderator moderates it.
  const moderateTitle = 'Moderate the audit';
  await signInAs('mod-001', '/tasks');
  await waitFor('the moderation task', async () => {
    await page.goto(`${base}/tasks`);
    return (await page.getByRole('link', { name: moderateTitle }).count()) > 0;
  }, 30000, 500);
  await page.getByRole('link', { name: moderateTitle }).first().click();
  await page.getByRole('button', { name: 'Submit moderation' }).waitFor();
  await page.getByRole('group', { name: 'Moderated overall grade' })
    .getByRole('radio', { name: 'Requires Improvement', exact: true }).check();
  await page.getByRole('group', { name: 'Do you agree with the auditor?' })
    .getByRole('radio', { name: 'Partly agree', exact: true }).check();
  await page.getByLabel("Findings compared with the auditor's").fill(
    'Agree provision is vague; the views of the young person are recorded well.');
  await shot('moderator-form');
  await accessibility('moderation-form');
  await page.getByRole('button', { name: 'Submit moderation' }).click();
  await page.waitForLoadState();
  await shot('moderator-submitted');
  await signOut();

  // 4. The approval mail reaches the manager.
  const mailDir = path.join(work, 'mail');
  const approvalMail = await waitFor('the approval mail to the manager', async () => {
    const index = path.join(mailDir, 'messages.jsonl');
    if (!fs.existsSync(index)) return null;
    for (const line of fs.readFileSync(index, 'utf8').split('\n').filter(Boolean)) {
      const entry = JSON.parse(line);
      if (!entry.rcpt_tos.includes(people['mgr-001'].email)) continue;
      const raw = fs.readFileSync(path.join(mailDir, entry.file), 'latin1');
      if (raw.includes('/approvals/') || decodeQuotedPrintable(raw).includes('/approvals/')) return raw;
    }
    return null;
  }, 45000, 500);
  fs.writeFileSync(path.join(artifacts, 'approval-mail.eml'), approvalMail);
  const text = decodeQuotedPrintable(approvalMail);
  const links = [...text.matchAll(/https?:\/\/[^\s"<>]+\/approvals\/([A-Za-z0-9_-]{43})/g)];
  check(links.length >= 2, `the approval mail has ${links.length} approval links`);
  // The approve link is the one the mail offers for approving (named before the reject link).
  const approveAt = text.search(/approve/i);
  const approveLink = links.find((m) => m.index > approveAt) ?? links[0];
  const approveUrl = approveLink[0];
  check(approveUrl.startsWith(base), `the link ${approveUrl} does not start with ${base}`);
  log('approval mail received');

  const openTasks = await api('GET', `/api/v1/instances/${instanceId}`);
  check(openTasks.status === 200, `GET /api/v1/instances/${instanceId}: ${openTasks.status} ${openTasks.text.slice(0, 300)}`);
  const approvalTask = (openTasks.json.tasks ?? []).find((t) => t.kind === 'approval' && t.status === 'open');
  check(approvalTask, 'no open approval task in the instance');

  // A mail scanner opens the link first: GET and HEAD change nothing.
  for (const method of ['HEAD', 'GET']) {
    const scanned = await fetch(approveUrl, { method, redirect: 'manual' });
    check(scanned.status === 200, `${method} of the approve link answered ${scanned.status}`);
  }
  await page.goto(approveUrl);
  await page.getByRole('link', { name: 'Sign in to confirm' }).waitFor();
  await shot('approval-link-signed-out');
  await accessibility('approval-link');
  const stillOpen = await api('GET', `/api/v1/tasks/${approvalTask.id}`);
  check(stillOpen.status === 200 && stillOpen.json?.status === 'open',
    `the approval task is not open after GET and HEAD of its link: ${stillOpen.text.slice(0, 300)}`);

  // 5. The manager signs in from the link's page, confirms, and sees the outcome.
  setNextUser('mgr-001');
  await page.getByRole('link', { name: 'Sign in to confirm' }).click();
  await page.getByRole('button', { name: 'Confirm approval' }).waitFor();
  check(new URL(page.url()).pathname === new URL(approveUrl).pathname,
    `after sign-in the manager is on ${page.url()}, not back on the link's page`);
  await shot('approval-link-signed-in');
  await accessibility('approval-confirm');
  const decided = await api('GET', `/api/v1/tasks/${approvalTask.id}`);
  check(decided.json?.status === 'open', 'the approval task changed before the confirmation');
  await page.getByRole('button', { name: 'Confirm approval' }).click();
  await page.getByRole('heading', { name: 'Approved', exact: true }).waitFor();
  await shot('approval-outcome');
  await accessibility('approval-outcome');
  const afterDecision = await api('GET', `/api/v1/tasks/${approvalTask.id}`);
  check(afterDecision.json?.status === 'completed',
    `the approval task is ${afterDecision.json?.status} after the confirmation`);
  log('approved through the link');

  // The link is used up: a second confirmation says so and changes nothing.
  await page.goto(approveUrl);
  await shot('approval-link-after-use');

  // The audit cycle's page shows the approval in its history.
  await page.goto(`${base}/instances/${instanceId}`);
  const approvalRows = page.getByRole('row')
    .filter({ hasText: 'mgr-001' })
    .filter({ hasText: 'Approve the moderation outcome' })
    .filter({ hasText: /email link/i });
  check((await approvalRows.count()) === 1,
    "the audit cycle's history has no row of mgr-001 completing the approval from the email link");
  await shot('instance-history');
  await accessibility('instance-history');
  log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in tests/artifacts/e2e/`);
}

// Quoted-printable (RFC 2045) to text: soft line breaks removed, =XX decoded (as Latin-1 bytes
// kept one to one, enough to find ASCII links).
function decodeQuotedPrintable(raw) {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  exitCode = 1;
  console.error(`e2e: FAILED: ${error instanceof CheckFailed ? error.message : error.stack}`);
  try {
    if (browserContext) {
      const pages = browserContext.pages();
      if (pages.length) {
        await pages[0].screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true });
        fs.writeFileSync(path.join(artifacts, 'failure.html'), await pages[0].content());
      }
    }
  } catch { /* the browser is gone */ }
} finally {
  await cleanUp();
}
process.exit(exitCode);
