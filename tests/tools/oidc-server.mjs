#!/usr/bin/env node
// A real OpenID Connect provider on loopback for the sign-in tests: oauth2-mock-server with a
// fresh RS256 key (a new `kid` on every start).
//
//   node tests/tools/oidc-server.mjs [--port N] [--claims JSON]
//
// --port 0 (the default) lets the system pick a free port; a test that restarts the provider to
// rotate its key passes the port of the first run. --claims (or the environment variable
// SENDFLOW_OIDC_CLAIMS) is a JSON object merged into every token the provider signs, access and ID
// tokens alike, e.g. {"preferred_username": "qa-001", "roles": ["SEND.QaLead"]}.
//
// --users (or SENDFLOW_OIDC_USERS) is a JSON object of people, by login hint: {"qa-001": {claims},
// ...}. A browser sign-in whose authorization request carries login_hint=<key> gets that person's
// claims in its tokens (merged after --claims); the authorize endpoint approves at once, so the
// login hint is how an end-to-end test chooses who signs in. A browser cannot add a parameter to
// a redirect it follows, so --hint-file FILE gives the login hint of requests that carry none: the
// file's content (trimmed) at the time of the request; the test writes who signs in next.
//
// Prints one JSON line {"issuer": "http://127.0.0.1:N", "port": N, "kid": "..."} on stdout once
// it serves, then stays up until killed (SIGTERM or SIGINT stop it cleanly).
import { readFileSync } from 'node:fs';
import { OAuth2Server } from 'oauth2-mock-server';

function fail(message) {
  process.stderr.write(`oidc-server: ${message}\n`);
  process.exit(2);
}

let port = 0;
let claimsText = process.env.SENDFLOW_OIDC_CLAIMS ?? '';
let usersText = process.env.SENDFLOW_OIDC_USERS ?? '';
let hintFile = '';
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--port' && i + 1 < args.length) {
    port = Number(args[++i]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: '${args[i]}' is not a port`);
  } else if (arg === '--claims' && i + 1 < args.length) {
    claimsText = args[++i];
  } else if (arg === '--users' && i + 1 < args.length) {
    usersText = args[++i];
  } else if (arg === '--hint-file' && i + 1 < args.length) {
    hintFile = args[++i];
  } else {
    fail(`unknown argument '${arg}' (usage: oidc-server.mjs [--port N] [--claims JSON] [--users JSON] [--hint-file FILE])`);
  }
}

let claims = {};
if (claimsText !== '') {
  try {
    claims = JSON.parse(claimsText);
  } catch (e) {
    fail(`--claims: not valid JSON: ${e.message}`);
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    fail('--claims: must be a JSON object');
  }
}

let users = {};
if (usersText !== '') {
  try {
    users = JSON.parse(usersText);
  } catch (e) {
    fail(`--users: not valid JSON: ${e.message}`);
  }
  if (users === null || typeof users !== 'object' || Array.isArray(users)) {
    fail('--users: must be a JSON object of login hint -> claims');
  }
}
// Authorization code -> the login hint of the sign-in it was issued for.
const codeUser = new Map();

const server = new OAuth2Server();
const key = await server.issuer.keys.generate('RS256');
server.service.on('beforeAuthorizeRedirect', (redirect, req) => {
  let hint = typeof req.query.login_hint === 'string' ? req.query.login_hint : '';
  if (hint === '' && hintFile !== '') {
    try {
      hint = readFileSync(hintFile, 'utf8').trim();
    } catch {
      hint = '';
    }
  }
  const code = redirect.url.searchParams.get('code');
  if (hint !== '' && code) codeUser.set(code, hint);
});
server.service.on('beforeTokenSigning', (token, req) => {
  Object.assign(token.payload, claims);
  const code = req && req.body ? req.body.code : undefined;
  const hint = code ? codeUser.get(code) : undefined;
  if (hint !== undefined) {
    if (!(hint in users)) fail(`login_hint '${hint}' is not one of --users`);
    Object.assign(token.payload, users[hint]);
  }
});

await server.start(port, '127.0.0.1');
const bound = server.address().port;
// The library would name the issuer "localhost", which may resolve to ::1; keep to the address
// the provider listens on.
server.issuer.url = `http://127.0.0.1:${bound}`;

const stop = async () => {
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(JSON.stringify({ issuer: server.issuer.url, port: bound, kid: key.kid }) + '\n');
