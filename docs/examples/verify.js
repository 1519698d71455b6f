#!/usr/bin/env node
// Verifies a Hookline delivery with Node's crypto module only (docs/receiving.md).
//
//     node verify.js <whsec_secret> <headers.json> <body-file>
//
// headers.json holds the request's headers as a JSON object; exit status 0 when the
// delivery verifies, 1 (with the reason) when it does not.
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const TOLERANCE_S = 5 * 60;

// Throws unless the Standard Webhooks signature verifies. body: the raw Buffer, exactly as
// received (not re-serialized JSON).
function verify(secret, headers, body, nowS = Date.now() / 1000) {
  const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const id = h['webhook-id'], ts = h['webhook-timestamp'], sigs = h['webhook-signature'];
  if (!id || !ts || !sigs) throw new Error('missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d+$/.test(ts) || Math.abs(nowS - Number(ts)) > TOLERANCE_S)
    throw new Error('webhook-timestamp is not within 5 minutes of now');
  if (!secret.startsWith('whsec_')) throw new Error('the secret must start with whsec_');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64'); // the DECODED bytes
  const expected = crypto.createHmac('sha256', key)
    .update(`${id}.${ts}.`).update(body).digest(); // 32 bytes
  for (const entry of sigs.split(' ')) { // several entries while a secret is being rotated
    const [version, sig] = entry.split(',', 2);
    if (version !== 'v1' || !sig) continue;
    const got = Buffer.from(sig, 'base64');
    if (got.length === expected.length && crypto.timingSafeEqual(got, expected)) return;
  }
  throw new Error('no webhook-signature entry matches');
}

// The legacy mode: X-Webhook-Signature (or the webhook's legacy_header) = sha256=<hex>.
function verifyLegacy(secret, header, body) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = Buffer.from('sha256=' + crypto.createHmac('sha256', key).update(body).digest('hex'));
  const got = Buffer.from(header);
  if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected))
    throw new Error('legacy signature does not match');
}

module.exports = { verify, verifyLegacy };

if (require.main === module) {
  const [secret, headersFile, bodyFile] = process.argv.slice(2);
  const headers = JSON.parse(fs.readFileSync(headersFile, 'utf8'));
  const body = fs.readFileSync(bodyFile);
  try {
    verify(secret, headers, body);
    const legacy = Object.entries(headers).find(([k]) => k.toLowerCase() === 'x-webhook-signature');
    if (legacy) verifyLegacy(secret, legacy[1], body);
  } catch (e) {
    console.log(`rejected: ${e.message}`);
    process.exit(1);
  }
  console.log('ok');
}
